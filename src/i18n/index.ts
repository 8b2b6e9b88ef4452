// Message catalogs (ru, en). The user's explicit /lang choice wins; otherwise their
// Telegram language_code: Russian for ru/uk/be/kk (and when Telegram sends none —
// most sellers are on Russian marketplaces), English for everything else.
import en from './en.ts';
import ru from './ru.ts';

export type Messages = typeof en;
export type Lang = 'ru' | 'en';
export const LANGS: readonly Lang[] = ['ru', 'en'];

const catalogs: Record<Lang, Messages> = { ru, en };

export function messages(lang: Lang): Messages {
  return catalogs[lang] ?? ru;
}

export function langFromTelegram(code: string | undefined | null): Lang {
  if (!code) return 'ru';
  return /^(ru|uk|be|kk)\b/i.test(code) ? 'ru' : 'en';
}

export const isLang = (v: unknown): v is Lang => v === 'ru' || v === 'en';
