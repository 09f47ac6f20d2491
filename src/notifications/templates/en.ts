import { Template } from './template';

const plural = (n: string, value: number, one: string, other: string) => `${n} ${value === 1 ? one : other}`;

export const en: Template = {
  lang: 'en',
  dir: 'ltr',
  subject: (messages, count, firstDate, moreDates) =>
    `Teddy will delete ${plural(count(messages), messages, 'message', 'messages')} ${moreDates ? 'from' : 'on'} ${firstDate}`,
  greeting: (name) => `Hello ${name},`,
  intro: (first) =>
    `As promised when you set up Teddy, your children's conversations are deleted once they reach the end of their retention period. ` +
    `The following will be deleted for good, the first of it on ${first}:`,
  child: (name, messages, conversations, count) =>
    `${name}: ${plural(count(messages), messages, 'message', 'messages')} from ${plural(count(conversations), conversations, 'conversation', 'conversations')}`,
  late: '(added after our last notice)',
  shortNotice: (days, count) =>
    `Some of this is deleted sooner than our usual ${plural(count(days), days, 'day', 'days')}' notice: it was added, or its retention was shortened, after our last notice.`,
  outro: "You don't need to do anything. This is the only reminder about these conversations.",
  signature: 'Teddy',
};
