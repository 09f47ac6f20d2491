import { Template } from './template';

type Forms = Record<Intl.LDMLPluralRule, (n: string) => string>;

const rules = new Intl.PluralRules('ar');

// Arabic counts take six plural forms (zero, one, two, few 3-10, many 11-99, other 100+).
const messages: Forms = {
  zero: () => 'لا رسائل',
  one: () => 'رسالة واحدة',
  two: () => 'رسالتان',
  few: (n) => `${n} رسائل`,
  many: (n) => `${n} رسالة`,
  other: (n) => `${n} رسالة`,
};
const conversations: Forms = {
  zero: () => 'لا محادثات',
  one: () => 'محادثة واحدة',
  two: () => 'محادثتان',
  few: (n) => `${n} محادثات`,
  many: (n) => `${n} محادثة`,
  other: (n) => `${n} محادثة`,
};

export const ar: Template = {
  lang: 'ar',
  dir: 'rtl',
  subject: (date) => `سيحذف تيدي المحادثات القديمة في ${date}`,
  greeting: (name) => `مرحبًا ${name}،`,
  intro: (date) => 'كما وعدناك عند إعداد تيدي، تُحذف محادثات أطفالك عند انتهاء مدة الاحتفاظ بها. ' + `في ${date} سيُحذف ما يلي نهائيًا:`,
  child: (c, count) =>
    `${c.displayName}: ${messages[rules.select(c.messages)](count(c.messages))} و${conversations[rules.select(c.conversations)](count(c.conversations))}`,
  outro: 'لا يلزمك فعل أي شيء. هذا هو التذكير الوحيد بشأن هذه المحادثات.',
  signature: 'تيدي',
};
