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
// The object of a verb (سيحذف): the accusative dual.
const messagesObject: Forms = { ...messages, two: () => 'رسالتين' };
// After a preposition (في): the genitive dual.
const inConversations: Forms = {
  zero: () => 'لا محادثات',
  one: () => 'محادثة واحدة',
  two: () => 'محادثتين',
  few: (n) => `${n} محادثات`,
  many: (n) => `${n} محادثة`,
  other: (n) => `${n} محادثة`,
};
const days: Forms = {
  zero: () => 'أيام',
  one: () => 'يوم واحد',
  two: () => 'يومين',
  few: (n) => `${n} أيام`,
  many: (n) => `${n} يومًا`,
  other: (n) => `${n} يوم`,
};
const form = (forms: Forms, n: number, count: (n: number) => string) => forms[rules.select(n)](count(n));

export const ar: Template = {
  lang: 'ar',
  dir: 'rtl',
  subject: (n, count, firstDate, moreDates) => `سيحذف تيدي ${form(messagesObject, n, count)} ${moreDates ? 'بدءًا من' : 'في'} ${firstDate}`,
  greeting: (name) => `مرحبًا ${name}،`,
  intro: (first) =>
    'كما وعدناك عند إعداد تيدي، تُحذف محادثات أطفالك عند انتهاء مدة الاحتفاظ بها. ' + `سيُحذف ما يلي نهائيًا، أوله في ${first}:`,
  child: (name, n, conversations, count) => `${name}: ${form(messages, n, count)} في ${form(inConversations, conversations, count)}`,
  late: '(أُضيفت بعد تنبيهنا السابق)',
  shortNotice: (n, count) => `يُحذف بعض ذلك قبل مهلة ${form(days, n, count)} المعتادة: أُضيف، أو قُصّرت مدة الاحتفاظ به، بعد تنبيهنا السابق.`,
  outro: 'لا يلزمك فعل أي شيء. هذا هو التذكير الوحيد بشأن هذه المحادثات.',
  signature: 'تيدي',
};
