import { DataSource } from 'typeorm';
import { execute } from './execute';

// better-sqlite3 is the driver whose structured result lacks `affected` for RETURNING; the e2e
// suites cover PostgreSQL's through the services that write this way.
describe('execute on SQLite', () => {
  let ds: DataSource;

  beforeAll(async () => {
    ds = await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize();
    await ds.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  });
  afterAll(() => ds.destroy());
  beforeEach(async () => {
    await ds.query('DELETE FROM t');
    await ds.query("INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  });

  it('answers the rows changed by a statement without RETURNING, and no records', async () => {
    const result = await ds.transaction((m) => execute(m, "UPDATE t SET v = 'x' WHERE id < ?", [3]));
    expect(result).toEqual({ affected: 2, records: [] });
  });

  it('answers the rows of a RETURNING clause, counted as the rows changed', async () => {
    const result = await ds.transaction((m) => execute<{ id: number }>(m, 'DELETE FROM t WHERE id >= ? RETURNING id', [2]));
    expect(result.records.map((r) => r.id).sort()).toEqual([2, 3]);
    expect(result.affected).toBe(2);
  });

  it('takes a query runner as well as a transaction manager', async () => {
    const runner = ds.createQueryRunner();
    try {
      await expect(execute(runner, 'DELETE FROM t WHERE id = ?', [1])).resolves.toEqual({ affected: 1, records: [] });
    } finally {
      await runner.release();
    }
  });

  it('refuses the data source manager, which holds no transaction', async () => {
    await expect(execute(ds.manager, 'DELETE FROM t', [])).rejects.toThrow('query runner');
  });
});
