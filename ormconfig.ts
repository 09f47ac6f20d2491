import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadEnvFile } from './src/config/env-file';
import { validateEnv } from './src/config/env.validation';
import { dataSourceOptions } from './src/database/data-source';

// The DataSource for the TypeORM CLI (`npm run migration:run`), built from the same validated
// environment as the service (and the same .env).
loadEnvFile();
const env = validateEnv(process.env);
export default new DataSource(dataSourceOptions(env.DATABASE_URL, env.DB_POOL_SIZE, env.DB_BUSY_TIMEOUT_MS));
