import { Template } from './template';

const plural = (n: string, value: number, one: string, other: string) => `${n} ${value === 1 ? one : other}`;

export const en: Template = {
  lang: 'en',
  dir: 'ltr',
  subject: (date) => `Teddy will delete older conversations on ${date}`,
  greeting: (name) => `Hello ${name},`,
  intro: (date) =>
    `As promised when you set up Teddy, your children's conversations are deleted once they reach the end of their retention period. ` +
    `On ${date}, the following will be deleted for good:`,
  child: (c, count) =>
    `${c.displayName}: ${plural(count(c.messages), c.messages, 'message', 'messages')} and ${plural(count(c.conversations), c.conversations, 'conversation', 'conversations')}`,
  outro: "You don't need to do anything. This is the only reminder about these conversations.",
  signature: 'Teddy',
};
