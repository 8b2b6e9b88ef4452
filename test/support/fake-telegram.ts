/**
 * A faithful fake of the Telegram Bot API for tests.
 *
 * It is a real HTTP server on 127.0.0.1 (random port) that speaks the Bot API
 * wire protocol, so an unmodified grammY `Bot` configured with
 * `client: { apiRoot: tg.apiRoot }` works against it: long polling, webhooks
 * (the fake POSTs updates to your server), multipart uploads, getFile +
 * downloads, error envelopes (`{ok:false,error_code,description,parameters}`).
 *
 * Usage:
 *   const tg = await startFakeTelegram({ token: '123:ABC' });
 *   const bot = new Bot('123:ABC', { client: { apiRoot: tg.apiRoot } });
 *   const alice = tg.user(42, { languageCode: 'en' });
 *   alice.sendCommand('/start');
 *   const reply = await alice.waitForMessage((m) => m.text?.includes('Hi'));
 *   await tg.close();
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import type {
  BotCommand,
  CallbackQuery,
  Chat,
  Document,
  Message,
  MessageEntity,
  PhotoSize,
  Update,
  User,
  UserFromGetMe,
  WebhookInfo,
} from 'grammy/types';
import { getBoundary, parseMultipart, type MultipartFile } from './multipart.ts';

// ───────────────────────────────────────────────────────────── public types ──

export interface FakeTelegramLimits {
  /** Max text length in characters (Unicode code points) after entity parsing. Default 4096. */
  maxTextLength: number;
  /** Max caption length. Default 1024. */
  maxCaptionLength: number;
  /** Max photo upload size in bytes. Default 10 MB. */
  maxPhotoUploadBytes: number;
  /** Max document (and other media) upload size in bytes. Default 50 MB. */
  maxDocumentUploadBytes: number;
  /** Max size of a file that getFile will hand out. Default 20 MB. */
  maxDownloadBytes: number;
  /** Max callback_data size in bytes. Default 64. */
  maxCallbackDataBytes: number;
}

export interface FakeTelegramWebhookOptions {
  /** Delay before the first retry of a failed delivery. Default 50 ms. */
  retryDelayMs?: number;
  /** Multiplier applied to the retry delay after each failed attempt. Default 2. */
  backoffFactor?: number;
  /** Upper bound for the retry delay. Default 2000 ms. */
  maxRetryDelayMs?: number;
  /** Give up on an update after this many failed attempts (it is dropped). Default 10. */
  maxAttempts?: number;
  /** A delivery that doesn't get a response within this time counts as failed. Default 5000 ms. */
  timeoutMs?: number;
}

export interface FakeTelegramOptions {
  /** Bot token; the part before ':' is the bot's user id. Default '123456789:TEST-TOKEN'. */
  token?: string;
  /** Port to listen on (127.0.0.1). Default 0 = random. */
  port?: number;
  webhook?: FakeTelegramWebhookOptions;
  limits?: Partial<FakeTelegramLimits>;
  /**
   * Optional emulation of Telegram's flood limits: when exceeded, message-sending
   * methods fail with 429 (retry_after = `retryAfter`, default 1). Off by default.
   */
  rateLimit?: { perChatPerSecond?: number; retryAfter?: number };
  /**
   * Like Telegram, the bot can't message a user who never wrote to it
   * (403 "Forbidden: bot can't initiate conversation with a user"). Default true.
   * Users can also be created with `{ started: true }`.
   */
  requireStart?: boolean;
}

/** Fault to inject into an API call. */
export type FailSpec =
  | {
      code: number;
      /** Defaults: 429 "Too Many Requests: retry after N", 403 "Forbidden: bot was blocked by the user", 400 "Bad Request", 500 "Internal Server Error", … */
      description?: string;
      /** For 429: value of parameters.retry_after (seconds; fractions allowed for fast tests). Default 1. */
      retryAfter?: number;
      /** If true, the call takes effect (e.g. the message IS sent) but the error is returned. Default false. */
      processed?: boolean;
    }
  | {
      /** Drop the TCP connection without a response (grammY sees an HttpError). */
      network: true;
      processed?: boolean;
    };

export interface ChaosOptions {
  /** Probability (0..1) that an eligible call fails. */
  rate: number;
  /** Error codes to pick from uniformly; 'network' drops the connection. Default [429, 500]. */
  codes?: Array<number | 'network'>;
  /** Only these methods are affected. Default: all except getUpdates, getMe, setWebhook, deleteWebhook, getWebhookInfo. */
  methods?: string[];
  /** retry_after for 429s. Default 1. */
  retryAfter?: number;
  /** Seed for the deterministic PRNG. Default 1. */
  seed?: number;
}

export interface CallRecord {
  seq: number;
  /** Canonical method name (e.g. 'sendMessage'), even if requested as 'sendmessage'. */
  method: string;
  /** Parameters; uploaded files are replaced by `{ file: { filename, size, contentType } }`. */
  params: Record<string, unknown>;
  /** Date.now() when the request arrived. */
  time: number;
  /** chat_id as a number, when present. */
  chatId?: number;
  /** HTTP status / error_code (200 on success, 0 while pending, -1 when the connection was dropped). */
  status: number;
  ok: boolean;
  description?: string;
  retryAfter?: number;
  /** Failure came from failNext/chaos/rateLimit. */
  injected?: boolean;
  durationMs?: number;
  /** The call was made as a webhook reply (method in the webhook response body). */
  viaWebhookReply?: boolean;
}

export interface BotFile {
  file_id: string;
  file_unique_id: string;
  bytes: Buffer;
  size: number;
  file_name?: string;
  mime_type?: string;
}

export interface MessageEdit {
  method: string;
  /** Date.now() of the edit. */
  at: number;
  /** State after the edit. */
  text?: string;
  caption?: string;
  entities?: MessageEntity[];
  reply_markup?: unknown;
  /** State before the edit. */
  previous: { text?: string; caption?: string; reply_markup?: unknown };
}

export type BotMessageKind = 'text' | 'photo' | 'document' | 'video' | 'audio' | 'animation' | 'voice' | 'sticker';

/** A message the bot sent, as the user sees it (current state + history). */
export interface BotMessage {
  message_id: number;
  chat_id: number;
  /** Method that created the message (sendMessage, sendPhoto, sendMediaGroup, …). */
  method: string;
  kind: BotMessageKind;
  /** Current text, after parse_mode was applied (plain text, like Message.text). */
  text?: string;
  /** Current caption (plain). */
  caption?: string;
  /** Current entities (text entities or caption entities). */
  entities?: MessageEntity[];
  /** The raw, unparsed text/caption the bot last sent (before parse_mode). */
  source?: string;
  parse_mode?: string;
  /** Current reply_markup exactly as the bot sent it (any keyboard type). */
  reply_markup?: any;
  reply_to_message_id?: number;
  media_group_id?: string;
  /** Uploaded/attached file, with bytes (photo: the largest size). */
  file?: BotFile;
  /** Shortcut for file.bytes. */
  bytes?: Buffer;
  photo?: PhotoSize[];
  document?: Document;
  /** Unix seconds. */
  date: number;
  /** Date.now() when sent. */
  sentAt: number;
  edits: MessageEdit[];
  deleted: boolean;
  deletedAt?: number;
  /** Current Bot API representation (what the bot got back). */
  raw: Message;
}

export interface CallbackAnswer {
  callback_query_id: string;
  text?: string;
  show_alert?: boolean;
  url?: string;
  cache_time?: number;
  at: number;
}

export interface WebhookDelivery {
  update_id: number;
  attempt: number;
  /** HTTP status of the webhook response, 0 on connection error/timeout. */
  status: number;
  ok: boolean;
  error?: string;
  /** X-Telegram-Bot-Api-Secret-Token sent. */
  secretToken?: string;
  time: number;
  durationMs: number;
}

export interface FakeUserOptions {
  languageCode?: string | null;
  firstName?: string;
  lastName?: string;
  username?: string;
  isPremium?: boolean;
  /** Pretend the user already started the bot (so the bot may message them). */
  started?: boolean;
}

export interface SendPhotoOptions {
  caption?: string;
  width?: number;
  height?: number;
  /** Report this file size instead of bytes.length (e.g. to test the 20 MB getFile limit cheaply). */
  fileSize?: number;
  replyTo?: number;
}

export interface SendDocumentOptions {
  fileName?: string;
  mimeType?: string;
  caption?: string;
  fileSize?: number;
  replyTo?: number;
}

export interface FakeUser {
  readonly id: number;
  readonly info: User;
  readonly chat: Chat.PrivateChat;
  /** Sends a text message (bot_command entities are added like Telegram does). Returns the user's Message. */
  sendText(text: string, opts?: { entities?: MessageEntity[]; replyTo?: number }): Message;
  /** Sends '/cmd' or '/cmd payload'. */
  sendCommand(command: string, payload?: string): Message;
  sendPhoto(bytes: Uint8Array, opts?: SendPhotoOptions): Message;
  sendDocument(bytes: Uint8Array, opts?: SendDocumentOptions): Message;
  sendSticker(opts?: { emoji?: string }): Message;
  sendVoice(bytes?: Uint8Array, opts?: { duration?: number; mimeType?: string }): Message;
  /** Sends a message with arbitrary content fields (e.g. `{ location: {...} }`). */
  send(content: Record<string, unknown>): Message;
  /**
   * Presses an inline button on a bot message. Throws if the message/button doesn't
   * exist (unless `unchecked`). Returns the CallbackQuery that was sent to the bot.
   */
  pressButton(messageId: number, callbackData: string, opts?: { unchecked?: boolean }): CallbackQuery;
  /** Blocks the bot (sends a my_chat_member update; sends then fail with 403). */
  block(): void;
  unblock(): void;
  readonly blocked: boolean;
  /** All messages the bot sent to this chat, in order (deleted ones included, flagged `deleted`). */
  messages(): BotMessage[];
  /** Last non-deleted bot message. */
  lastMessage(): BotMessage | undefined;
  /** Resolves with the first bot message in this chat matching predicate (existing or future; re-checked on edits). */
  waitForMessage(predicate?: (m: BotMessage) => boolean, timeoutMs?: number): Promise<BotMessage>;
  callbackAnswer(queryId: string): CallbackAnswer | undefined;
  chatActions(): Array<{ action: string; at: number }>;
}

export interface FakeTelegram {
  readonly apiRoot: string;
  readonly token: string;
  readonly port: number;
  readonly botInfo: UserFromGetMe;
  /** Every API request, in arrival order. */
  readonly calls: CallRecord[];
  /** Every update ever created, in order. */
  readonly updates: Update[];
  readonly webhookDeliveries: WebhookDelivery[];
  readonly callbackAnswers: Map<string, CallbackAnswer>;

  user(id: number, opts?: FakeUserOptions): FakeUser;
  /** Enqueue an arbitrary update; update_id is assigned. Returns the full update. */
  pushUpdate(update: Record<string, unknown>): Update;
  /** Updates not yet confirmed (polling) / delivered (webhook). */
  pendingUpdates(): Update[];

  /** Next `times` calls of `method` ('*' = any method except getUpdates) fail with `spec`. */
  failNext(method: string, spec: FailSpec, times?: number): void;
  /**
   * The next `times` calls of `method` take `ms` before they take effect, like a slow upload:
   * the message is sent and answered only then, and not at all if the caller has gone away.
   */
  slowNext(method: string, ms: number, times?: number): void;
  /** Every call addressed to `chatId` (its chat_id) fails with `spec` until called again with null. */
  failChat(chatId: number, spec: FailSpec | null): void;
  /** Random failures; pass null to turn off. */
  chaos(opts: ChaosOptions | null): void;
  /** The next `times` updates delivered via webhook are delivered twice (same update_id). */
  duplicateNextDelivery(times?: number): void;
  /** Add or override an API method. Throw `new TelegramApiError(code, description)` to fail. */
  handle(method: string, fn: (params: Record<string, unknown>) => unknown | Promise<unknown>): void;

  /** Number of successful calls of `method` (optionally for one chat). */
  successCount(method: string, chatId?: number): number;
  /** Messages the bot sent to a chat (same as user(id).messages()). */
  messages(chatId: number): BotMessage[];
  /** Bytes of a stored file by file_id. */
  fileBytes(fileId: string): Buffer | undefined;
  /** Downloads (GET /file/bot<token>/<path>) served so far, per file_unique_id. */
  readonly fileDownloads: Map<string, number>;
  /** Commands set via setMyCommands (default scope/language unless given). */
  commands(scope?: unknown, languageCode?: string): BotCommand[] | undefined;
  webhookInfo(): WebhookInfo & { secret_token?: string };

  /**
   * Resolves with the first truthy value returned by `predicate`, re-evaluated on every
   * state change (and every 20 ms). Rejects after `timeoutMs` (default 5000).
   */
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs?: number, label?: string): Promise<T>;
  close(): Promise<void>;
}

/** Throw from a custom handler (tg.handle) to produce an API error response. */
export class TelegramApiError extends Error {
  constructor(
    public readonly code: number,
    public readonly description: string,
    public readonly retryAfter?: number,
  ) {
    super(description);
    this.name = 'TelegramApiError';
  }
}

// ─────────────────────────────────────────────────────────────── internals ──

const DEFAULT_LIMITS: FakeTelegramLimits = {
  maxTextLength: 4096,
  maxCaptionLength: 1024,
  maxPhotoUploadBytes: 10 * 1024 * 1024,
  maxDocumentUploadBytes: 50 * 1024 * 1024,
  maxDownloadBytes: 20 * 1024 * 1024,
  maxCallbackDataBytes: 64,
};

const DEFAULT_UPDATE_TYPES_EXCLUDED = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);
const CHAOS_EXCLUDED = new Set(['getUpdates', 'getMe', 'setWebhook', 'deleteWebhook', 'getWebhookInfo']);
const CHAT_ACTIONS = new Set([
  'typing',
  'upload_photo',
  'record_video',
  'upload_video',
  'record_voice',
  'upload_voice',
  'upload_document',
  'choose_sticker',
  'find_location',
  'record_video_note',
  'upload_video_note',
]);
const MESSAGE_SENDING = /^(send(?!ChatAction)|copyMessage|forwardMessage)/;

function defaultDescription(code: number, retryAfter: number): string {
  switch (code) {
    case 400:
      return 'Bad Request';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden: bot was blocked by the user';
    case 404:
      return 'Not Found';
    case 409:
      return 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running';
    case 413:
      return 'Request Entity Too Large';
    case 429:
      return `Too Many Requests: retry after ${retryAfter}`;
    case 500:
      return 'Internal Server Error';
    case 502:
      return 'Bad Gateway';
    case 503:
      return 'Service Unavailable';
    case 504:
      return 'Gateway Timeout';
    default:
      return code >= 500 ? 'Internal Server Error' : 'Bad Request';
  }
}

const bad = (d: string) => new TelegramApiError(400, `Bad Request: ${d}`);
const forbidden = (d: string) => new TelegramApiError(403, `Forbidden: ${d}`);

/** Result wrapper to add a top-level `description` to a successful response (setWebhook etc.). */
class Described {
  constructor(
    public readonly result: unknown,
    public readonly description: string,
  ) {}
}

function randomId(prefix: string, len: number): string {
  return prefix + randomBytes(len).toString('base64url').slice(0, len);
}

const nowSec = () => Math.floor(Date.now() / 1000);
const codePoints = (s: string) => [...s].length;
const utf8Offset = (s: string, i: number) => Buffer.byteLength(s.slice(0, i), 'utf8');

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ─── image size sniffing (for PhotoSize width/height) ───

export function sniffImage(buf: Uint8Array): { format: string; width: number; height: number } | undefined {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString('ascii', 12, 16) === 'IHDR') {
    return { format: 'png', width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length >= 10 && b.toString('ascii', 0, 3) === 'GIF') {
    return { format: 'gif', width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  }
  if (b.length >= 30 && b.toString('ascii', 0, 4) === 'RIFF' && b.toString('ascii', 8, 12) === 'WEBP') {
    const chunk = b.toString('ascii', 12, 16);
    if (chunk === 'VP8 ') return { format: 'webp', width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
    if (chunk === 'VP8L') {
      const bits = b.readUInt32LE(21);
      return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
    }
    if (chunk === 'VP8X') return { format: 'webp', width: b.readUIntLE(24, 3) + 1, height: b.readUIntLE(27, 3) + 1 };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) {
        i++;
        continue;
      }
      const marker = b[i + 1]!;
      if (marker === 0xff) {
        i++;
        continue;
      }
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        i += 2;
        continue;
      }
      const len = b.readUInt16BE(i + 2);
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { format: 'jpeg', height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
      }
      i += 2 + len;
    }
    return { format: 'jpeg', width: 0, height: 0 };
  }
  return undefined;
}

// ─── parse_mode emulation ───

interface Parsed {
  text: string;
  entities: MessageEntity[];
}

const parseErr = (msg: string) => bad(`can't parse entities: ${msg}`);

function sortEntities(entities: MessageEntity[]): MessageEntity[] {
  return entities.filter((e) => e.length > 0).sort((a, b) => a.offset - b.offset || b.length - a.length);
}

function parseHtml(src: string): Parsed {
  let out = '';
  const entities: MessageEntity[] = [];
  const stack: Array<{ tag: string; offset: number; entity?: Record<string, unknown> }> = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '&') {
      const m = /^&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,8});/.exec(src.slice(i, i + 12));
      if (m) {
        const name = m[1]!;
        let ch: string | undefined;
        if (name[0] === '#') {
          const cp = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
          if (cp > 0 && cp <= 0x10ffff) ch = String.fromCodePoint(cp);
        } else {
          ch = ({ lt: '<', gt: '>', amp: '&', quot: '"' } as Record<string, string>)[name];
        }
        if (ch !== undefined) {
          out += ch;
          i += m[0].length;
          continue;
        }
      }
      out += c;
      i++;
      continue;
    }
    if (c !== '<') {
      out += c;
      i++;
      continue;
    }
    const byteOff = utf8Offset(src, i);
    if (src[i + 1] === '/') {
      const m = /^<\/([^\s>]*)\s*>/.exec(src.slice(i));
      if (!m) throw parseErr(`Can't find end of the end tag at byte offset ${byteOff}`);
      const name = m[1]!.toLowerCase();
      const top = stack.pop();
      if (!top) throw parseErr(`Unexpected end tag at byte offset ${byteOff}`);
      if (name !== top.tag) {
        throw parseErr(`Unmatched end tag at byte offset ${byteOff}, expected "</${top.tag}>", found "</${name}>"`);
      }
      if (top.entity) entities.push({ ...top.entity, offset: top.offset, length: out.length - top.offset } as MessageEntity);
      i += m[0].length;
      continue;
    }
    const nameMatch = /^<([a-zA-Z][a-zA-Z0-9-]*)/.exec(src.slice(i));
    if (!nameMatch) throw parseErr(`Unsupported start tag "" at byte offset ${byteOff}`);
    const tag = nameMatch[1]!.toLowerCase();
    let j = i + nameMatch[0].length;
    const attrs: Record<string, string> = {};
    while (true) {
      while (j < src.length && /\s/.test(src[j]!)) j++;
      if (j >= src.length) throw parseErr(`Unclosed start tag at byte offset ${byteOff}`);
      if (src[j] === '>') {
        j++;
        break;
      }
      if (src[j] === '/' && src[j + 1] === '>') throw parseErr(`Unsupported start tag "${tag}" at byte offset ${byteOff}`);
      const am = /^([a-zA-Z0-9_-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/.exec(src.slice(j));
      if (!am) throw parseErr(`Expected equal sign in declaration of an attribute of the tag at byte offset ${byteOff}`);
      attrs[am[1]!.toLowerCase()] = decodeHtmlAttr(am[2] ?? am[3] ?? am[4] ?? '');
      j += am[0].length;
    }
    let entity: Record<string, unknown> | undefined;
    switch (tag) {
      case 'b':
      case 'strong':
        entity = { type: 'bold' };
        break;
      case 'i':
      case 'em':
        entity = { type: 'italic' };
        break;
      case 'u':
      case 'ins':
        entity = { type: 'underline' };
        break;
      case 's':
      case 'strike':
      case 'del':
        entity = { type: 'strikethrough' };
        break;
      case 'tg-spoiler':
        entity = { type: 'spoiler' };
        break;
      case 'span':
        if (attrs['class'] !== 'tg-spoiler') throw parseErr(`Unsupported start tag "span" at byte offset ${byteOff}`);
        entity = { type: 'spoiler' };
        break;
      case 'a': {
        const href = attrs['href'];
        if (href) {
          const mention = /^tg:\/\/user\?id=(\d+)$/.exec(href);
          entity = mention
            ? { type: 'text_mention', user: { id: Number(mention[1]), is_bot: false, first_name: '' } }
            : { type: 'text_link', url: href };
        }
        break;
      }
      case 'code': {
        const parent = stack[stack.length - 1];
        const lang = /^language-(.+)$/.exec(attrs['class'] ?? '');
        if (parent?.tag === 'pre' && parent.entity && lang) {
          parent.entity['language'] = lang[1];
          entity = undefined;
        } else entity = { type: 'code' };
        break;
      }
      case 'pre':
        entity = { type: 'pre' };
        break;
      case 'blockquote':
        entity = { type: 'expandable' in attrs ? 'expandable_blockquote' : 'blockquote' };
        break;
      case 'tg-emoji':
        entity = { type: 'custom_emoji', custom_emoji_id: attrs['emoji-id'] ?? '' };
        break;
      default:
        throw parseErr(`Unsupported start tag "${tag}" at byte offset ${byteOff}`);
    }
    stack.push({ tag, offset: out.length, entity });
    i = j;
  }
  const open = stack.pop();
  if (open) throw parseErr(`Can't find end tag corresponding to start tag "${open.tag}"`);
  return { text: out, entities: sortEntities(entities) };
}

function decodeHtmlAttr(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);/gi, (m, n: string) => {
    const l = n.toLowerCase();
    if (l === 'lt') return '<';
    if (l === 'gt') return '>';
    if (l === 'amp') return '&';
    if (l === 'quot') return '"';
    const cp = l[1] === 'x' ? parseInt(l.slice(2), 16) : parseInt(l.slice(1), 10);
    return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
  });
}

const MDV2_RESERVED = new Set('_*[]()~`>#+-=|{}.!'.split(''));
const MDV2_NAMES: Record<string, string> = {
  bold: 'Bold',
  italic: 'Italic',
  underline: 'Underline',
  strikethrough: 'Strikethrough',
  spoiler: 'Spoiler',
  code: 'Code',
  pre: 'Pre',
  text_link: 'TextUrl',
};

function parseMarkdownV2(src: string): Parsed {
  let out = '';
  const entities: MessageEntity[] = [];
  const stack: Array<{ type: string; offset: number; byteOff: number }> = [];
  let quote: { offset: number } | undefined;
  let i = 0;
  const closeQuote = () => {
    if (quote) {
      let end = out.length;
      if (out.endsWith('\n')) end--;
      entities.push({ type: 'blockquote', offset: quote.offset, length: end - quote.offset });
      quote = undefined;
    }
  };
  while (i < src.length) {
    const c = src[i]!;
    const lineStart = i === 0 || src[i - 1] === '\n';
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined || n.charCodeAt(0) > 126) throw parseErr(`Character '\\' is reserved and must be escaped with the preceding '\\'`);
      out += n;
      i += 2;
      continue;
    }
    if (lineStart && c === '>') {
      if (!quote) quote = { offset: out.length };
      i++;
      continue;
    }
    if (lineStart && quote && c !== '>') closeQuote();
    if (c === '`') {
      const byteOff = utf8Offset(src, i);
      const isPre = src.startsWith('```', i);
      let j = i + (isPre ? 3 : 1);
      let language: string | undefined;
      if (isPre) {
        const nl = src.indexOf('\n', j);
        const fence = src.indexOf('```', j);
        if (nl !== -1 && (fence === -1 || nl < fence)) {
          const lang = src.slice(j, nl);
          if (/^[^\s`\\]*$/.test(lang)) {
            if (lang) language = lang;
            j = nl + 1;
          }
        }
      }
      const start = out.length;
      let closed = false;
      while (j < src.length) {
        const d = src[j]!;
        if (d === '\\' && j + 1 < src.length) {
          out += src[j + 1];
          j += 2;
          continue;
        }
        if (d === '`') {
          if (isPre) {
            if (src.startsWith('```', j)) {
              j += 3;
              closed = true;
              break;
            }
          } else {
            j++;
            closed = true;
            break;
          }
        }
        out += d;
        j++;
      }
      if (!closed) throw parseErr(`Can't find end of ${isPre ? 'Pre' : 'Code'} entity at byte offset ${byteOff}`);
      const e: Record<string, unknown> = { type: isPre ? 'pre' : 'code', offset: start, length: out.length - start };
      if (language) e['language'] = language;
      entities.push(e as unknown as MessageEntity);
      i = j;
      continue;
    }
    let type: string | undefined;
    let width = 1;
    if (c === '*') type = 'bold';
    else if (c === '_') {
      if (src[i + 1] === '_') {
        type = 'underline';
        width = 2;
      } else type = 'italic';
    } else if (c === '~') type = 'strikethrough';
    else if (c === '|' && src[i + 1] === '|') {
      type = 'spoiler';
      width = 2;
    } else if (c === '[') type = 'text_link';
    if (type === 'text_link') {
      stack.push({ type, offset: out.length, byteOff: utf8Offset(src, i) });
      i++;
      continue;
    }
    if (c === ']') {
      const idx = stack.map((s) => s.type).lastIndexOf('text_link');
      if (idx === -1) throw parseErr(`Character ']' is reserved and must be escaped with the preceding '\\'`);
      const open = stack[idx]!;
      if (idx !== stack.length - 1) throw parseErr(`Can't find end of ${MDV2_NAMES[stack[stack.length - 1]!.type]} entity at byte offset ${stack[stack.length - 1]!.byteOff}`);
      stack.pop();
      let url = '';
      let j = i + 1;
      if (src[j] === '(') {
        j++;
        let closed = false;
        while (j < src.length) {
          const d = src[j]!;
          if (d === '\\' && j + 1 < src.length) {
            url += src[j + 1];
            j += 2;
            continue;
          }
          if (d === ')') {
            closed = true;
            j++;
            break;
          }
          url += d;
          j++;
        }
        if (!closed) throw parseErr(`Can't find end of a URL at byte offset ${utf8Offset(src, i + 1)}`);
      }
      if (url) {
        const mention = /^tg:\/\/user\?id=(\d+)$/.exec(url);
        entities.push(
          (mention
            ? { type: 'text_mention', offset: open.offset, length: out.length - open.offset, user: { id: Number(mention[1]), is_bot: false, first_name: '' } }
            : { type: 'text_link', offset: open.offset, length: out.length - open.offset, url }) as MessageEntity,
        );
      }
      i = j;
      continue;
    }
    if (type) {
      const idx = stack.map((s) => s.type).lastIndexOf(type);
      if (idx !== -1) {
        const open = stack.splice(idx, 1)[0]!;
        entities.push({ type, offset: open.offset, length: out.length - open.offset } as MessageEntity);
      } else {
        stack.push({ type, offset: out.length, byteOff: utf8Offset(src, i) });
      }
      i += width;
      continue;
    }
    if (MDV2_RESERVED.has(c)) throw parseErr(`Character '${c}' is reserved and must be escaped with the preceding '\\'`);
    out += c;
    i++;
  }
  closeQuote();
  const open = stack[stack.length - 1];
  if (open) throw parseErr(`Can't find end of ${MDV2_NAMES[open.type] ?? open.type} entity at byte offset ${open.byteOff}`);
  return { text: out, entities: sortEntities(entities) };
}

function parseMarkdownLegacy(src: string): Parsed {
  let out = '';
  const entities: MessageEntity[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\' && '_*`['.includes(src[i + 1] ?? '')) {
      out += src[i + 1];
      i += 2;
      continue;
    }
    const byteOff = utf8Offset(src, i);
    const notFound = () => parseErr(`Can't find end of the entity starting at byte offset ${byteOff}`);
    if (c === '*' || c === '_') {
      const end = src.indexOf(c, i + 1);
      if (end === -1) throw notFound();
      const start = out.length;
      out += src.slice(i + 1, end);
      entities.push({ type: c === '*' ? 'bold' : 'italic', offset: start, length: out.length - start });
      i = end + 1;
      continue;
    }
    if (c === '`') {
      const isPre = src.startsWith('```', i);
      const fence = isPre ? '```' : '`';
      const end = src.indexOf(fence, i + fence.length);
      if (end === -1) throw notFound();
      let body = src.slice(i + fence.length, end);
      let language: string | undefined;
      if (isPre) {
        const nl = body.indexOf('\n');
        if (nl !== -1 && /^\S*$/.test(body.slice(0, nl))) {
          language = body.slice(0, nl) || undefined;
          body = body.slice(nl + 1);
        }
      }
      const start = out.length;
      out += body;
      const e: Record<string, unknown> = { type: isPre ? 'pre' : 'code', offset: start, length: body.length };
      if (language) e['language'] = language;
      entities.push(e as unknown as MessageEntity);
      i = end + fence.length;
      continue;
    }
    if (c === '[') {
      const close = src.indexOf(']', i + 1);
      if (close === -1) throw notFound();
      const label = src.slice(i + 1, close);
      const start = out.length;
      out += label;
      i = close + 1;
      if (src[i] === '(') {
        const endUrl = src.indexOf(')', i + 1);
        if (endUrl === -1) throw notFound();
        const url = src.slice(i + 1, endUrl);
        if (url) entities.push({ type: 'text_link', offset: start, length: label.length, url });
        i = endUrl + 1;
      }
      continue;
    }
    out += c;
    i++;
  }
  return { text: out, entities: sortEntities(entities) };
}

export function applyParseMode(text: string, parseMode: string | undefined): Parsed {
  if (!parseMode) return { text, entities: [] };
  switch (parseMode.toLowerCase()) {
    case 'html':
      return parseHtml(text);
    case 'markdownv2':
      return parseMarkdownV2(text);
    case 'markdown':
      return parseMarkdownLegacy(text);
    default:
      throw bad(`unsupported parse_mode`);
  }
}

// ─── params ───

type InputFileRef =
  | { kind: 'upload'; file: MultipartFile }
  | { kind: 'file_id'; id: string }
  | { kind: 'url'; url: string };

class Params {
  constructor(
    readonly raw: Record<string, unknown>,
    readonly files: Map<string, MultipartFile>,
  ) {}

  has(k: string): boolean {
    return this.raw[k] !== undefined && this.raw[k] !== null;
  }

  str(k: string): string | undefined {
    const v = this.raw[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return JSON.stringify(v);
  }

  num(k: string): number | undefined {
    const v = this.raw[k];
    if (v === undefined || v === null || v === '') return undefined;
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n)) throw bad(`invalid ${k} specified`);
    return n;
  }

  bool(k: string): boolean {
    const v = this.raw[k];
    return v === true || v === 'true' || v === 1 || v === '1';
  }

  json<T>(k: string, what = `${k} JSON object`): T | undefined {
    const v = this.raw[k];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') return v as T;
    try {
      return JSON.parse(v) as T;
    } catch {
      throw bad(`can't parse ${what}`);
    }
  }

  /** Resolves an InputFile-typed parameter (attach://, a multipart part named k, file_id or URL). */
  inputFile(k: string, value: unknown = this.raw[k]): InputFileRef | undefined {
    if (value === undefined || value === null || value === '') {
      const direct = this.files.get(k);
      return direct ? { kind: 'upload', file: direct } : undefined;
    }
    if (typeof value !== 'string') throw bad(`wrong file identifier/HTTP URL specified`);
    if (value.startsWith('attach://')) {
      const f = this.files.get(value.slice('attach://'.length));
      if (!f) throw bad(`wrong file identifier/HTTP URL specified`);
      return { kind: 'upload', file: f };
    }
    if (/^https?:\/\//i.test(value)) return { kind: 'url', url: value };
    return { kind: 'file_id', id: value };
  }
}

function sanitizeParams(raw: Record<string, unknown>, files: Map<string, MultipartFile>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  for (const [name, f] of files) {
    out[name] = { file: { filename: f.filename, size: f.data.length, contentType: f.contentType } };
  }
  return out;
}

// ─── state ───

type FileKind = 'photo' | 'document' | 'video' | 'audio' | 'animation' | 'voice' | 'sticker' | 'video_note';

interface StoredFile {
  file_id: string;
  file_unique_id: string;
  kind: FileKind;
  bytes: Buffer;
  size: number;
  file_name?: string;
  mime_type?: string;
  width?: number;
  height?: number;
  file_path?: string;
  /** For photos: all sizes (shared by all size file_ids). */
  sizes?: PhotoSize[];
}

interface ChatMessageEntry {
  from: 'user' | 'bot';
  raw: Message;
  bot?: BotMessage;
  deleted: boolean;
}

interface ChatState {
  id: number;
  chat: Chat.PrivateChat;
  userInfo: User;
  nextMessageId: number;
  entries: Map<number, ChatMessageEntry>;
  botMessages: BotMessage[];
  blocked: boolean;
  started: boolean;
  chatActions: Array<{ action: string; at: number }>;
  facade?: FakeUser;
}

interface Poller {
  limit: number;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
}

interface WebhookState {
  url: string;
  secretToken?: string;
  maxConnections: number;
  ipAddress?: string;
  setAt: number;
}

interface DeliveryMeta {
  attempts: number;
  nextAttemptAt: number;
  duplicates: number;
}

type Handler = (p: Params, ctx: CallCtx) => unknown | Promise<unknown>;

interface CallCtx {
  call: CallRecord;
  onClose(cb: () => void): void;
}

function toResponseJson(result: unknown): { body: Record<string, unknown> } {
  if (result instanceof Described) return { body: { ok: true, result: result.result, description: result.description } };
  return { body: { ok: true, result } };
}

function updateChatKey(u: Update): string {
  const anyU = u as unknown as Record<string, any>;
  for (const [k, v] of Object.entries(anyU)) {
    if (k === 'update_id' || !v || typeof v !== 'object') continue;
    if (v.chat?.id !== undefined) return `c${v.chat.id}`;
    if (v.message?.chat?.id !== undefined) return `c${v.message.chat.id}`;
    if (v.from?.id !== undefined) return `u${v.from.id}`;
    if (v.user?.id !== undefined) return `u${v.user.id}`;
  }
  return `update${u.update_id}`;
}

function updateType(u: Update): string {
  return Object.keys(u).find((k) => k !== 'update_id') ?? 'unknown';
}

// ───────────────────────────────────────────────────────────── the server ──

class FakeTelegramServer implements FakeTelegram {
  apiRoot = '';
  port = 0;
  readonly token: string;
  readonly botInfo: UserFromGetMe;
  readonly calls: CallRecord[] = [];
  readonly updates: Update[] = [];
  readonly webhookDeliveries: WebhookDelivery[] = [];
  readonly callbackAnswers = new Map<string, CallbackAnswer>();

  private server!: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly limits: FakeTelegramLimits;
  private readonly webhookOpts: Required<FakeTelegramWebhookOptions>;
  private readonly opts: FakeTelegramOptions;
  private nextUpdateId: number;
  private pending: Update[] = [];
  private allowedUpdates: string[] | null = null;
  private poller: Poller | null = null;
  private webhook: WebhookState | null = null;
  private lastWebhookError: { date: number; message: string } | undefined;
  private readonly deliveryMeta = new Map<number, DeliveryMeta>();
  private readonly inFlight = new Set<number>();
  private duplicateBudget = 0;
  private pumpTimer: NodeJS.Timeout | undefined;
  private readonly chats = new Map<number, ChatState>();
  private readonly files = new Map<string, StoredFile>();
  private readonly filesByPath = new Map<string, StoredFile>();
  private nextFilePath = 1;
  private readonly callbackQueries = new Map<string, { query: CallbackQuery; answered: boolean; chatId: number }>();
  private readonly commandSets = new Map<string, BotCommand[]>();
  private readonly successCounts = new Map<string, Map<number | 'all', number>>();
  readonly fileDownloads = new Map<string, number>();
  private readonly failQueue = new Map<string, FailSpec[]>();
  private readonly slowQueue = new Map<string, number[]>();
  private readonly failingChats = new Map<number, FailSpec>();
  private chaosOpts: (ChaosOptions & { rng: () => number }) | null = null;
  private readonly rateWindow = { perChat: new Map<number, number[]>() };
  private readonly changeListeners = new Set<() => void>();
  private readonly handlers = new Map<string, { name: string; fn: Handler }>();
  private readonly closeController = new AbortController();
  private closed = false;
  private seq = 0;
  private mediaGroupSeq = 1;
  callbackSeq = 0;

  constructor(opts: FakeTelegramOptions) {
    // Every in-flight webhook delivery listens on this one signal; many at once is normal.
    setMaxListeners(0, this.closeController.signal);
    this.opts = opts;
    this.token = opts.token ?? '123456789:TEST-TOKEN';
    const botId = Number(this.token.split(':')[0]) || 123456789;
    this.botInfo = {
      id: botId,
      is_bot: true,
      first_name: 'Fake Test Bot',
      username: 'fake_test_bot',
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    } as UserFromGetMe;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.webhookOpts = {
      retryDelayMs: 50,
      backoffFactor: 2,
      maxRetryDelayMs: 2000,
      maxAttempts: 10,
      timeoutMs: 5000,
      ...opts.webhook,
    };
    this.nextUpdateId = 100000;
    this.registerBuiltins();
  }

  async listen(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => {
      this.onRequest(req, res).catch((err) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: false, error_code: 500, description: `Internal Server Error: ${String(err)}` }));
        } else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.apiRoot = `http://127.0.0.1:${this.port}`;
  }

  // ── change notification / waiting ──

  private changed(): void {
    for (const l of [...this.changeListeners]) {
      try {
        l();
      } catch {
        /* ignore */
      }
    }
  }

  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs = 5000, label?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const check = () => {
        if (done) return;
        let v: T | undefined | null | false;
        try {
          v = predicate();
        } catch (e) {
          finish();
          reject(e);
          return;
        }
        if (v) {
          finish();
          resolve(v);
        }
      };
      const interval = setInterval(check, 20);
      const timer = setTimeout(() => {
        if (done) return;
        finish();
        const recent = this.calls
          .slice(-8)
          .map((c) => `${c.method}${c.chatId !== undefined ? `(${c.chatId})` : ''}→${c.status}${c.description ? ` ${c.description}` : ''}`)
          .join(', ');
        reject(new Error(`FakeTelegram.waitFor${label ? ` [${label}]` : ''} timed out after ${timeoutMs} ms. Recent calls: ${recent || 'none'}`));
      }, timeoutMs);
      const finish = () => {
        done = true;
        clearInterval(interval);
        clearTimeout(timer);
        this.changeListeners.delete(check);
      };
      this.changeListeners.add(check);
      check();
    });
  }

  // ── HTTP ──

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const fileMatch = /^\/file\/bot([^/]+)\/(.+)$/.exec(path);
    if (fileMatch && (req.method === 'GET' || req.method === 'HEAD')) {
      req.resume();
      return this.serveFile(fileMatch[1]!, decodeURIComponent(fileMatch[2]!), req, res);
    }
    const m = /^\/bot([^/]+)\/([^/]*)\/?$/.exec(path);
    if (!m) {
      req.resume();
      return this.sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    }
    const token = decodeURIComponent(m[1]!);
    const methodRaw = m[2]!;
    const body = await readBody(req);
    if (token !== this.token) {
      return this.sendJson(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    }
    const handler = this.handlers.get(methodRaw.toLowerCase());
    const methodName = handler?.name ?? methodRaw;

    let params: Params;
    try {
      params = parseParams(url, req.headers['content-type'], body);
    } catch (e) {
      return this.sendJson(res, 400, { ok: false, error_code: 400, description: e instanceof TelegramApiError ? e.description : 'Bad Request: invalid request body' });
    }
    const chatIdNum = Number(params.raw['chat_id']);
    const call: CallRecord = {
      seq: ++this.seq,
      method: methodName,
      params: sanitizeParams(params.raw, params.files),
      time: Date.now(),
      chatId: params.has('chat_id') && Number.isFinite(chatIdNum) ? chatIdNum : undefined,
      status: 0,
      ok: false,
    };
    this.calls.push(call);
    this.changed();

    if (!handler) {
      return this.finishCall(res, call, 404, { ok: false, error_code: 404, description: 'Not Found' });
    }


    const closeCbs: Array<() => void> = [];
    let gone = false;
    res.on('close', () => {
      if (!res.writableEnded) { gone = true; for (const cb of closeCbs) cb(); }
    });
    const ctx: CallCtx = { call, onClose: (cb) => closeCbs.push(cb) };

    // a slow upload: nothing happens until it is over, and nothing at all if the caller left
    const slowMs = this.slowQueue.get(methodName)?.shift();
    if (slowMs !== undefined) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, slowMs);
        closeCbs.push(() => { clearTimeout(t); r(); });
      });
      if (gone) {
        call.status = -1;
        call.description = 'caller went away during the slow call';
        call.durationMs = Date.now() - call.time;
        this.changed();
        return;
      }
    }

    // fault injection
    const fault = this.takeFault(methodName) ?? (call.chatId !== undefined ? this.failingChats.get(call.chatId) : undefined);
    if (fault) {
      call.injected = true;
      if (fault.processed) {
        try {
          const r = await handler.fn(params, ctx);
          this.countSuccess(methodName, call, r);
        } catch {
          /* ignore */
        }
      }
      if ('network' in fault) {
        call.status = -1;
        call.description = 'connection dropped';
        call.durationMs = Date.now() - call.time;
        res.socket?.destroy();
        this.changed();
        return;
      }
      const retryAfter = fault.retryAfter ?? 1;
      const description = fault.description ?? defaultDescription(fault.code, retryAfter);
      const bodyOut: Record<string, unknown> = { ok: false, error_code: fault.code, description };
      if (fault.code === 429) {
        bodyOut['parameters'] = { retry_after: retryAfter };
        call.retryAfter = retryAfter;
      }
      return this.finishCall(res, call, fault.code, bodyOut);
    }

    // flood limits
    const flood = this.checkRateLimit(methodName, call.chatId);
    if (flood !== undefined) {
      call.injected = true;
      call.retryAfter = flood;
      return this.finishCall(res, call, 429, {
        ok: false,
        error_code: 429,
        description: `Too Many Requests: retry after ${flood}`,
        parameters: { retry_after: flood },
      });
    }

    try {
      const result = await handler.fn(params, ctx);
      this.countSuccess(methodName, call, result);
      return this.finishCall(res, call, 200, toResponseJson(result).body);
    } catch (e) {
      if (e instanceof TelegramApiError) {
        const out: Record<string, unknown> = { ok: false, error_code: e.code, description: e.description };
        if (e.retryAfter !== undefined) {
          out['parameters'] = { retry_after: e.retryAfter };
          call.retryAfter = e.retryAfter;
        }
        return this.finishCall(res, call, e.code, out);
      }
      throw e;
    }
  }

  private finishCall(res: http.ServerResponse, call: CallRecord, status: number, body: Record<string, unknown>): void {
    call.status = status;
    call.ok = status === 200;
    if (!call.ok) call.description = String(body['description'] ?? '');
    call.durationMs = Date.now() - call.time;
    this.sendJson(res, status, body);
    this.changed();
  }

  private sendJson(res: http.ServerResponse, status: number, body: unknown): void {
    if (res.writableEnded || res.destroyed) return;
    const data = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
    res.end(data);
  }

  private serveFile(token: string, filePath: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    if (token !== this.token) return this.sendJson(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const f = this.filesByPath.get(filePath);
    if (!f) return this.sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    res.writeHead(200, { 'content-type': f.mime_type ?? (f.kind === 'photo' ? 'image/jpeg' : 'application/octet-stream'), 'content-length': f.bytes.length });
    if (req.method === 'HEAD') return void res.end();
    this.fileDownloads.set(f.file_unique_id, (this.fileDownloads.get(f.file_unique_id) ?? 0) + 1);
    res.end(f.bytes);
  }

  private countSuccess(method: string, call: CallRecord, result: unknown): void {
    let m = this.successCounts.get(method);
    if (!m) this.successCounts.set(method, (m = new Map()));
    m.set('all', (m.get('all') ?? 0) + 1);
    if (call.chatId !== undefined) m.set(call.chatId, (m.get(call.chatId) ?? 0) + 1);
    if (MESSAGE_SENDING.test(method) && this.opts.rateLimit && call.chatId !== undefined) {
      const now = Date.now();
      const n = Array.isArray(result) ? result.length : 1;
      for (let i = 0; i < n; i++) {
        let arr = this.rateWindow.perChat.get(call.chatId);
        if (!arr) this.rateWindow.perChat.set(call.chatId, (arr = []));
        arr.push(now);
      }
    }
  }

  private checkRateLimit(method: string, chatId: number | undefined): number | undefined {
    const rl = this.opts.rateLimit;
    if (!rl || !MESSAGE_SENDING.test(method)) return undefined;
    const cutoff = Date.now() - 1000;
    if (chatId !== undefined && rl.perChatPerSecond !== undefined) {
      const arr = (this.rateWindow.perChat.get(chatId) ?? []).filter((t) => t > cutoff);
      this.rateWindow.perChat.set(chatId, arr);
      if (arr.length >= rl.perChatPerSecond) return rl.retryAfter ?? 1;
    }
    return undefined;
  }

  private takeFault(method: string): FailSpec | undefined {
    for (const key of [method, '*']) {
      if (key === '*' && method === 'getUpdates') continue;
      const q = this.failQueue.get(key);
      if (q && q.length) return q.shift();
    }
    const c = this.chaosOpts;
    if (!c) return undefined;
    const eligible = c.methods ? c.methods.includes(method) : !CHAOS_EXCLUDED.has(method);
    if (!eligible || c.rng() >= c.rate) return undefined;
    const codes = c.codes && c.codes.length ? c.codes : [429, 500];
    const code = codes[Math.floor(c.rng() * codes.length)]!;
    if (code === 'network') return { network: true };
    return { code, retryAfter: c.retryAfter };
  }

  // ── control API ──

  failNext(method: string, spec: FailSpec, times = 1): void {
    const key = method === '*' ? '*' : (this.handlers.get(method.toLowerCase())?.name ?? method);
    let q = this.failQueue.get(key);
    if (!q) this.failQueue.set(key, (q = []));
    for (let i = 0; i < times; i++) q.push(spec);
  }

  slowNext(method: string, ms: number, times = 1): void {
    const key = this.handlers.get(method.toLowerCase())?.name ?? method;
    let q = this.slowQueue.get(key);
    if (!q) this.slowQueue.set(key, (q = []));
    for (let i = 0; i < times; i++) q.push(ms);
  }

  failChat(chatId: number, spec: FailSpec | null): void {
    if (spec) this.failingChats.set(chatId, spec);
    else this.failingChats.delete(chatId);
  }

  chaos(opts: ChaosOptions | null): void {
    this.chaosOpts = opts ? { ...opts, rng: mulberry32(opts.seed ?? 1) } : null;
  }

  duplicateNextDelivery(times = 1): void {
    this.duplicateBudget += times;
  }

  handle(method: string, fn: (params: Record<string, unknown>) => unknown | Promise<unknown>): void {
    this.handlers.set(method.toLowerCase(), { name: method, fn: (p) => fn(p.raw) });
  }

  successCount(method: string, chatId?: number): number {
    return this.successCounts.get(method)?.get(chatId ?? 'all') ?? 0;
  }

  messages(chatId: number): BotMessage[] {
    return [...(this.chats.get(chatId)?.botMessages ?? [])];
  }

  fileBytes(fileId: string): Buffer | undefined {
    return this.files.get(fileId)?.bytes;
  }

  commands(scope?: unknown, languageCode?: string): BotCommand[] | undefined {
    return this.commandSets.get(commandKey(scope, languageCode));
  }

  webhookInfo(): WebhookInfo & { secret_token?: string } {
    const info: Record<string, unknown> = {
      url: this.webhook?.url ?? '',
      has_custom_certificate: false,
      pending_update_count: this.pending.length,
    };
    if (this.webhook) {
      info['max_connections'] = this.webhook.maxConnections;
      if (this.webhook.ipAddress) info['ip_address'] = this.webhook.ipAddress;
      if (this.lastWebhookError) {
        info['last_error_date'] = this.lastWebhookError.date;
        info['last_error_message'] = this.lastWebhookError.message;
      }
      if (this.allowedUpdates && this.allowedUpdates.length) info['allowed_updates'] = this.allowedUpdates;
      if (this.webhook.secretToken) info['secret_token'] = this.webhook.secretToken;
    }
    return info as unknown as WebhookInfo & { secret_token?: string };
  }

  pendingUpdates(): Update[] {
    return [...this.pending];
  }

  pushUpdate(update: Record<string, unknown>): Update {
    // snapshot: later edits of the referenced messages must not change an already-created update
    const full = structuredClone({ update_id: this.nextUpdateId++, ...update }) as Update;
    this.updates.push(full);
    this.pending.push(full);
    this.onNewUpdate();
    return full;
  }

  private onNewUpdate(): void {
    if (this.poller) {
      const ups = this.takeUpdates(this.poller.limit);
      if (ups.length) {
        const p = this.poller;
        this.poller = null;
        clearTimeout(p.timer);
        p.resolve(ups);
      }
    }
    if (this.webhook) this.pump();
    this.changed();
  }

  private isAllowed(u: Update): boolean {
    const t = updateType(u);
    if (!this.allowedUpdates || this.allowedUpdates.length === 0) return !DEFAULT_UPDATE_TYPES_EXCLUDED.has(t);
    return this.allowedUpdates.includes(t);
  }

  private takeUpdates(limit: number): Update[] {
    // updates of types that are not allowed are dropped, like Telegram does
    this.pending = this.pending.filter((u) => this.isAllowed(u));
    return this.pending.slice(0, limit);
  }

  user(id: number, opts: FakeUserOptions = {}): FakeUser {
    const chat = this.ensureChat(id, opts);
    if (!chat.facade) chat.facade = this.makeUser(chat);
    return chat.facade;
  }

  private ensureChat(id: number, opts: FakeUserOptions = {}): ChatState {
    let chat = this.chats.get(id);
    const lang = opts.languageCode === undefined ? 'ru' : opts.languageCode;
    if (!chat) {
      const userInfo: Record<string, unknown> = { id, is_bot: false, first_name: opts.firstName ?? `User${id}` };
      if (opts.lastName) userInfo['last_name'] = opts.lastName;
      if (opts.username) userInfo['username'] = opts.username;
      if (lang) userInfo['language_code'] = lang;
      if (opts.isPremium) userInfo['is_premium'] = true;
      const chatObj: Record<string, unknown> = { id, first_name: userInfo['first_name'], type: 'private' };
      if (opts.lastName) chatObj['last_name'] = opts.lastName;
      if (opts.username) chatObj['username'] = opts.username;
      chat = {
        id,
        chat: chatObj as unknown as Chat.PrivateChat,
        userInfo: userInfo as unknown as User,
        nextMessageId: 1,
        entries: new Map(),
        botMessages: [],
        blocked: false,
        started: opts.started ?? false,
        chatActions: [],
      };
      this.chats.set(id, chat);
    } else if (Object.keys(opts).length) {
      const u = chat.userInfo as unknown as Record<string, unknown>;
      if (opts.firstName) u['first_name'] = opts.firstName;
      if (opts.lastName) u['last_name'] = opts.lastName;
      if (opts.username) u['username'] = opts.username;
      if (opts.languageCode !== undefined) {
        if (opts.languageCode) u['language_code'] = opts.languageCode;
        else delete u['language_code'];
      }
      if (opts.started) chat.started = true;
    }
    return chat;
  }

  private makeUser(chat: ChatState): FakeUser {
    const self = this;
    const userSend = (content: Record<string, unknown>, replyTo?: number): Message => {
      if (chat.blocked) this.setBlocked(chat, false);
      chat.started = true;
      const message: Record<string, unknown> = {
        message_id: chat.nextMessageId++,
        from: chat.userInfo,
        chat: chat.chat,
        date: nowSec(),
        ...content,
      };
      if (replyTo !== undefined) {
        const target = chat.entries.get(replyTo);
        if (target) message['reply_to_message'] = stripReply(target.raw);
      }
      const msg = message as unknown as Message;
      chat.entries.set(msg.message_id, { from: 'user', raw: msg, deleted: false });
      this.pushUpdate({ message: msg });
      return msg;
    };
    const storeUserFile = (kind: FileKind, bytes: Uint8Array, extra: Partial<StoredFile>): StoredFile => {
      return this.storeFile(kind, Buffer.from(bytes), extra);
    };
    const facade: FakeUser = {
      id: chat.id,
      info: chat.userInfo,
      chat: chat.chat,
      get blocked() {
        return chat.blocked;
      },
      sendText(text, opts) {
        const content: Record<string, unknown> = { text };
        const entities = opts?.entities ?? detectCommands(text);
        if (entities.length) content['entities'] = entities;
        return userSend(content, opts?.replyTo);
      },
      sendCommand(command, payload) {
        const cmd = command.startsWith('/') ? command : `/${command}`;
        const text = payload ? `${cmd} ${payload}` : cmd;
        return userSend({ text, entities: [{ type: 'bot_command', offset: 0, length: cmd.length }] });
      },
      sendPhoto(bytes, opts = {}) {
        const sniff = sniffImage(bytes);
        const width = opts.width ?? (sniff?.width || 1280);
        const height = opts.height ?? (sniff?.height || 960);
        const stored = storeUserFile('photo', bytes, { width, height, mime_type: 'image/jpeg', size: opts.fileSize });
        const content: Record<string, unknown> = { photo: stored.sizes };
        if (opts.caption !== undefined) {
          content['caption'] = opts.caption;
          const ents = detectCommands(opts.caption);
          if (ents.length) content['caption_entities'] = ents;
        }
        return userSend(content, opts.replyTo);
      },
      sendDocument(bytes, opts = {}) {
        const stored = storeUserFile('document', bytes, {
          file_name: opts.fileName ?? 'file.bin',
          mime_type: opts.mimeType ?? 'application/octet-stream',
          size: opts.fileSize,
        });
        const content: Record<string, unknown> = { document: fileToApi(stored) };
        if (opts.caption !== undefined) content['caption'] = opts.caption;
        return userSend(content, opts.replyTo);
      },
      sendSticker(opts = {}) {
        const stored = storeUserFile('sticker', Buffer.from('RIFF\0\0\0\0WEBPVP8 '), { width: 512, height: 512, mime_type: 'image/webp' });
        return userSend({
          sticker: {
            file_id: stored.file_id,
            file_unique_id: stored.file_unique_id,
            type: 'regular',
            width: 512,
            height: 512,
            is_animated: false,
            is_video: false,
            emoji: opts.emoji ?? '😀',
            file_size: stored.size,
          },
        });
      },
      sendVoice(bytes = Buffer.from('OggS fake voice'), opts = {}) {
        const stored = storeUserFile('voice', bytes, { mime_type: opts.mimeType ?? 'audio/ogg' });
        return userSend({
          voice: {
            file_id: stored.file_id,
            file_unique_id: stored.file_unique_id,
            duration: opts.duration ?? 3,
            mime_type: stored.mime_type,
            file_size: stored.size,
          },
        });
      },
      send(content) {
        return userSend(content);
      },
      pressButton(messageId, callbackData, opts = {}) {
        const entry = chat.entries.get(messageId);
        if (!opts.unchecked) {
          if (!entry || entry.deleted) throw new Error(`FakeTelegram: message ${messageId} does not exist in chat ${chat.id}`);
          const kb = (entry.bot?.reply_markup as { inline_keyboard?: Array<Array<{ callback_data?: string }>> } | undefined)?.inline_keyboard;
          const found = kb?.some((row) => row.some((b) => b.callback_data === callbackData));
          if (!found) {
            const available = kb?.flatMap((row) => row.map((b) => b.callback_data)).filter(Boolean) ?? [];
            throw new Error(`FakeTelegram: message ${messageId} has no inline button with callback_data ${JSON.stringify(callbackData)} (available: ${JSON.stringify(available)})`);
          }
        }
        if (chat.blocked) self.setBlocked(chat, false);
        const query: Record<string, unknown> = {
          id: String(BigInt(Math.abs(chat.id)) * 1000000n + BigInt(++self.callbackSeq)),
          from: chat.userInfo,
          chat_instance: String(chat.id * 7 + 13),
          data: callbackData,
        };
        if (entry && !entry.deleted) query['message'] = entry.raw;
        const q = query as unknown as CallbackQuery;
        self.callbackQueries.set(q.id, { query: q, answered: false, chatId: chat.id });
        self.pushUpdate({ callback_query: q });
        return q;
      },
      block() {
        self.setBlocked(chat, true);
      },
      unblock() {
        self.setBlocked(chat, false);
      },
      messages() {
        return [...chat.botMessages];
      },
      lastMessage() {
        for (let i = chat.botMessages.length - 1; i >= 0; i--) if (!chat.botMessages[i]!.deleted) return chat.botMessages[i];
        return undefined;
      },
      waitForMessage(predicate = () => true, timeoutMs = 5000) {
        return self.waitFor(() => chat.botMessages.find((m) => predicate(m)), timeoutMs, `message in chat ${chat.id}`);
      },
      callbackAnswer(queryId) {
        return self.callbackAnswers.get(queryId);
      },
      chatActions() {
        return [...chat.chatActions];
      },
    };
    return facade;
  }

  private setBlocked(chat: ChatState, blocked: boolean): void {
    if (chat.blocked === blocked) return;
    chat.blocked = blocked;
    const member = (status: string) => (status === 'kicked' ? { user: this.botInfo, status, until_date: 0 } : { user: this.botInfo, status });
    this.pushUpdate({
      my_chat_member: {
        chat: chat.chat,
        from: chat.userInfo,
        date: nowSec(),
        old_chat_member: member(blocked ? 'member' : 'kicked'),
        new_chat_member: member(blocked ? 'kicked' : 'member'),
      },
    });
  }

  // ── files ──

  private storeFile(kind: FileKind, bytes: Buffer, extra: Partial<StoredFile> = {}): StoredFile {
    const prefix = { photo: 'AgACAgIAAxkBAA', document: 'BQACAgIAAxkBAA', video: 'BAACAgIAAxkBAA', audio: 'CQACAgIAAxkBAA', animation: 'CgACAgIAAxkBAA', voice: 'AwACAgIAAxkBAA', sticker: 'CAACAgIAAxkBAA', video_note: 'DQACAgIAAxkBAA' }[kind];
    const size = extra.size ?? bytes.length;
    const stored: StoredFile = {
      ...extra,
      file_id: randomId(prefix, 48),
      file_unique_id: randomId('AQAD', 12),
      kind,
      bytes,
      size,
    };
    if (kind === 'photo') {
      const w = stored.width || 1280;
      const h = stored.height || 960;
      const sizes: PhotoSize[] = [];
      const maxSide = Math.max(w, h);
      for (const t of [90, 320, 800]) {
        if (maxSide <= t) break;
        const k = t / maxSide;
        const sub: StoredFile = { ...stored, file_id: randomId(prefix, 48), file_unique_id: randomId('AQAD', 12), width: Math.max(1, Math.round(w * k)), height: Math.max(1, Math.round(h * k)) };
        this.files.set(sub.file_id, sub);
        sizes.push({ file_id: sub.file_id, file_unique_id: sub.file_unique_id, file_size: size, width: sub.width!, height: sub.height! });
      }
      sizes.push({ file_id: stored.file_id, file_unique_id: stored.file_unique_id, file_size: size, width: w, height: h });
      stored.sizes = sizes;
      for (const s of sizes) {
        const f = this.files.get(s.file_id);
        if (f) f.sizes = sizes;
      }
    }
    this.files.set(stored.file_id, stored);
    return stored;
  }

  private async resolveInputFile(p: Params, key: string, kind: FileKind, value?: unknown): Promise<StoredFile> {
    const ref = p.inputFile(key, value);
    if (!ref) throw bad(`there is no ${kind} in the request`);
    const maxBytes = kind === 'photo' ? this.limits.maxPhotoUploadBytes : this.limits.maxDocumentUploadBytes;
    if (ref.kind === 'file_id') {
      const f = this.files.get(ref.id);
      if (!f) throw bad('wrong file identifier/HTTP URL specified');
      const compatible = f.kind === kind || (kind === 'document' && f.kind !== 'photo' && f.kind !== 'sticker');
      if (!compatible) throw bad(`can't use file of type ${f.kind === 'photo' ? 'Photo' : capitalize(f.kind)} as ${capitalize(kind)}`);
      return f;
    }
    let bytes: Buffer;
    let fileName: string | undefined;
    let mime: string | undefined;
    if (ref.kind === 'upload') {
      bytes = ref.file.data;
      fileName = ref.file.filename || undefined;
      mime = ref.file.contentType && ref.file.contentType !== 'application/octet-stream' ? ref.file.contentType : undefined;
    } else {
      try {
        const r = await fetch(ref.url, { signal: AbortSignal.timeout(5000) });
        if (!r.ok) throw new Error(String(r.status));
        bytes = Buffer.from(await r.arrayBuffer());
        mime = r.headers.get('content-type')?.split(';')[0] || undefined;
        fileName = decodeURIComponent(new URL(ref.url).pathname.split('/').pop() || '') || undefined;
      } catch {
        throw bad('failed to get HTTP URL content');
      }
    }
    if (bytes.length > maxBytes) throw bad('file is too big');
    if (bytes.length === 0) throw bad('file must be non-empty');
    if (kind === 'photo') {
      const sniff = sniffImage(bytes);
      if (!sniff) throw bad('IMAGE_PROCESS_FAILED'); // as Telegram: a photo must be an image
      const width = sniff?.width || 1280;
      const height = sniff?.height || 960;
      if (sniff && sniff.width && sniff.height && (width + height > 10000 || Math.max(width / height, height / width) > 20)) {
        throw bad('PHOTO_INVALID_DIMENSIONS');
      }
      return this.storeFile('photo', bytes, { width, height, mime_type: 'image/jpeg' });
    }
    return this.storeFile(kind, bytes, { file_name: fileName ?? `${kind}.${extFor(kind)}`, mime_type: mime ?? guessMime(fileName) });
  }

  // ── chats / messages ──

  private targetChat(p: Params, forSending = true): ChatState {
    const raw = p.raw['chat_id'];
    if (raw === undefined || raw === null || raw === '') throw bad('chat_id is empty');
    const id = typeof raw === 'number' ? raw : /^-?\d+$/.test(String(raw)) ? Number(raw) : NaN;
    const chat = Number.isFinite(id) ? this.chats.get(id) : undefined;
    if (!chat) throw bad('chat not found');
    if (forSending) {
      if (chat.blocked) throw forbidden('bot was blocked by the user');
      if (!chat.started && this.opts.requireStart !== false) throw forbidden("bot can't initiate conversation with a user");
    }
    return chat;
  }

  private textWithEntities(p: Params, textKey: 'text' | 'caption', limit: number): Parsed | undefined {
    const src = p.str(textKey);
    if (src === undefined) return undefined;
    const explicit = p.json<MessageEntity[]>(textKey === 'text' ? 'entities' : 'caption_entities', 'entities JSON object');
    const parsed = explicit ? { text: src, entities: explicit } : applyParseMode(src, p.str('parse_mode'));
    if (codePoints(parsed.text) > limit) throw bad(textKey === 'text' ? 'message is too long' : 'message caption is too long');
    return parsed;
  }

  private replyMarkup(p: Params, inlineOnly = false): any {
    const rm = p.json<any>('reply_markup', 'reply keyboard markup JSON object');
    if (rm === undefined) return undefined;
    if (typeof rm !== 'object' || rm === null) throw bad("can't parse reply keyboard markup JSON object");
    if (inlineOnly && !rm.inline_keyboard) throw bad('inline keyboard expected');
    if (rm.inline_keyboard) {
      if (!Array.isArray(rm.inline_keyboard)) throw bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array');
      for (const row of rm.inline_keyboard) {
        if (!Array.isArray(row)) throw bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays');
        for (const b of row) {
          if (!b || typeof b.text !== 'string') throw bad("can't parse inline keyboard button: Text must be non-empty");
          if (b.callback_data !== undefined) {
            const n = Buffer.byteLength(String(b.callback_data));
            if (n === 0 || n > this.limits.maxCallbackDataBytes) throw bad('BUTTON_DATA_INVALID');
          }
          if (b.url !== undefined && !/^(https?|tg):\/\//i.test(String(b.url))) throw bad(`inline keyboard button URL '${b.url}' is invalid: Wrong HTTP URL`);
        }
      }
    }
    return rm;
  }

  private replyTo(p: Params, chat: ChatState): Message | undefined {
    const rp = p.json<{ message_id?: number; allow_sending_without_reply?: boolean }>('reply_parameters', 'reply parameters JSON object');
    const id = rp?.message_id ?? p.num('reply_to_message_id');
    if (id === undefined) return undefined;
    const entry = chat.entries.get(Number(id));
    if (!entry || entry.deleted) {
      if (rp?.allow_sending_without_reply || p.bool('allow_sending_without_reply')) return undefined;
      throw bad('message to be replied not found');
    }
    return stripReply(entry.raw);
  }

  private createBotMessage(
    chat: ChatState,
    method: string,
    kind: BotMessageKind,
    content: {
      text?: Parsed;
      caption?: Parsed;
      source?: string;
      parse_mode?: string;
      reply_markup?: any;
      replyTo?: Message;
      file?: StoredFile;
      media_group_id?: string;
      extra?: Record<string, unknown>;
    },
  ): Message {
    const message_id = chat.nextMessageId++;
    const raw: Record<string, unknown> = {
      message_id,
      from: { id: this.botInfo.id, is_bot: true, first_name: this.botInfo.first_name, username: this.botInfo.username },
      chat: chat.chat,
      date: nowSec(),
    };
    if (content.media_group_id) raw['media_group_id'] = content.media_group_id;
    if (content.replyTo) raw['reply_to_message'] = content.replyTo;
    const bm: BotMessage = {
      message_id,
      chat_id: chat.id,
      method,
      kind,
      date: raw['date'] as number,
      sentAt: Date.now(),
      edits: [],
      deleted: false,
      raw: raw as unknown as Message,
      source: content.source,
      parse_mode: content.parse_mode,
      reply_markup: content.reply_markup,
      reply_to_message_id: content.replyTo?.message_id,
      media_group_id: content.media_group_id,
    };
    if (content.text) {
      raw['text'] = content.text.text;
      if (content.text.entities.length) raw['entities'] = content.text.entities;
      bm.text = content.text.text;
      bm.entities = content.text.entities;
    }
    const f = content.file;
    if (f) {
      bm.file = { file_id: f.file_id, file_unique_id: f.file_unique_id, bytes: f.bytes, size: f.size, file_name: f.file_name, mime_type: f.mime_type };
      bm.bytes = f.bytes;
      if (kind === 'photo') {
        raw['photo'] = f.sizes;
        bm.photo = f.sizes;
      } else {
        const api = fileToApi(f);
        raw[kind] = api;
        if (kind === 'document') bm.document = api as unknown as Document;
      }
    }
    if (content.caption) {
      raw['caption'] = content.caption.text;
      if (content.caption.entities.length) raw['caption_entities'] = content.caption.entities;
      bm.caption = content.caption.text;
      bm.entities = content.caption.entities;
    }
    if (content.extra) Object.assign(raw, content.extra);
    if (content.reply_markup?.inline_keyboard) raw['reply_markup'] = { inline_keyboard: content.reply_markup.inline_keyboard };
    chat.entries.set(message_id, { from: 'bot', raw: raw as unknown as Message, bot: bm, deleted: false });
    chat.botMessages.push(bm);
    return raw as unknown as Message;
  }

  private findEditable(p: Params): { chat: ChatState; bm: BotMessage; entry: ChatMessageEntry } {
    if (p.has('inline_message_id')) throw bad('MESSAGE_ID_INVALID');
    const chat = this.targetChat(p, false);
    if (chat.blocked) throw forbidden('bot was blocked by the user');
    const id = p.num('message_id');
    if (id === undefined) throw bad('message identifier is not specified');
    const entry = chat.entries.get(id);
    if (!entry || entry.deleted) throw bad('message to edit not found');
    if (entry.from !== 'bot' || !entry.bot) throw bad("message can't be edited");
    return { chat, bm: entry.bot, entry };
  }

  private applyEdit(
    method: string,
    bm: BotMessage,
    entry: ChatMessageEntry,
    change: { text?: Parsed; caption?: Parsed; source?: string; parse_mode?: string; reply_markup: any },
  ): Message {
    const notModified = () =>
      bad('message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message');
    const sameMarkup = JSON.stringify(inlineOnly(bm.reply_markup) ?? null) === JSON.stringify(inlineOnly(change.reply_markup) ?? null);
    const raw = entry.raw as unknown as Record<string, unknown>;
    const previous = { text: bm.text, caption: bm.caption, reply_markup: bm.reply_markup };
    if (change.text) {
      if (change.text.text === bm.text && JSON.stringify(change.text.entities) === JSON.stringify(bm.entities ?? []) && sameMarkup) throw notModified();
      bm.text = change.text.text;
      bm.entities = change.text.entities;
      raw['text'] = bm.text;
      if (bm.entities.length) raw['entities'] = bm.entities;
      else delete raw['entities'];
    } else if (change.caption) {
      if (change.caption.text === (bm.caption ?? '') && JSON.stringify(change.caption.entities) === JSON.stringify(bm.entities ?? []) && sameMarkup) throw notModified();
      bm.caption = change.caption.text || undefined;
      bm.entities = change.caption.entities;
      if (bm.caption) raw['caption'] = bm.caption;
      else delete raw['caption'];
      if (bm.entities.length) raw['caption_entities'] = bm.entities;
      else delete raw['caption_entities'];
    } else if (sameMarkup) throw notModified();
    if (change.source !== undefined) bm.source = change.source;
    if (change.parse_mode !== undefined || change.text || change.caption) bm.parse_mode = change.parse_mode;
    bm.reply_markup = change.reply_markup;
    if (change.reply_markup?.inline_keyboard) raw['reply_markup'] = { inline_keyboard: change.reply_markup.inline_keyboard };
    else delete raw['reply_markup'];
    raw['edit_date'] = nowSec();
    bm.edits.push({ method, at: Date.now(), text: bm.text, caption: bm.caption, entities: bm.entities, reply_markup: bm.reply_markup, previous });
    return { ...(raw as unknown as Message) };
  }

  // ── method table ──

  private on(name: string, fn: Handler): void {
    this.handlers.set(name.toLowerCase(), { name, fn });
  }

  private registerBuiltins(): void {
    this.on('getMe', () => this.botInfo);

    this.on('getUpdates', (p, ctx) => {
      if (this.webhook) throw new TelegramApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
      const offset = p.num('offset');
      const limit = Math.max(1, Math.min(100, p.num('limit') ?? 100));
      const timeout = Math.max(0, p.num('timeout') ?? 0);
      const allowed = p.json<string[]>('allowed_updates', 'allowed updates JSON object');
      if (allowed !== undefined) this.allowedUpdates = allowed;
      if (offset !== undefined) {
        if (offset < 0) this.pending = this.pending.slice(offset);
        else this.pending = this.pending.filter((u) => u.update_id >= offset);
      }
      if (this.poller) {
        const prev = this.poller;
        this.poller = null;
        clearTimeout(prev.timer);
        prev.reject(new TelegramApiError(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'));
      }
      const ups = this.takeUpdates(limit);
      this.changed();
      if (ups.length || timeout === 0) return ups;
      return new Promise((resolve, reject) => {
        const poller: Poller = {
          limit,
          resolve,
          reject,
          timer: setTimeout(() => {
            if (this.poller === poller) this.poller = null;
            resolve([]);
          }, timeout * 1000),
        };
        this.poller = poller;
        ctx.onClose(() => {
          if (this.poller === poller) {
            this.poller = null;
            clearTimeout(poller.timer);
          }
        });
      });
    });

    this.on('setWebhook', (p) => {
      const url = p.str('url') ?? '';
      if (url === '') return this.deleteWebhook(p.bool('drop_pending_updates'));
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw bad('invalid webhook URL specified');
      }
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw bad('bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443');
      const secret = p.str('secret_token');
      if (secret !== undefined && secret !== '' && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) throw bad('secret token contains unallowed characters');
      const maxConn = p.num('max_connections') ?? 40;
      if (maxConn < 1 || maxConn > 100) throw bad('bad webhook: max_connections must be between 1 and 100');
      const allowed = p.json<string[]>('allowed_updates', 'allowed updates JSON object');
      if (allowed !== undefined) this.allowedUpdates = allowed;
      if (p.bool('drop_pending_updates')) this.dropPending();
      const same = this.webhook?.url === url && this.webhook.secretToken === (secret || undefined) && this.webhook.maxConnections === maxConn;
      this.webhook = { url, secretToken: secret || undefined, maxConnections: maxConn, ipAddress: p.str('ip_address'), setAt: Date.now() };
      this.lastWebhookError = undefined;
      if (this.poller) {
        const prev = this.poller;
        this.poller = null;
        clearTimeout(prev.timer);
        prev.reject(new TelegramApiError(409, 'Conflict: terminated by setWebhook request'));
      }
      setImmediate(() => this.pump());
      return new Described(true, same ? 'Webhook is already set' : 'Webhook was set');
    });

    this.on('deleteWebhook', (p) => this.deleteWebhook(p.bool('drop_pending_updates')));

    this.on('getWebhookInfo', () => {
      const info = this.webhookInfo() as unknown as Record<string, unknown>;
      delete info['secret_token'];
      return info;
    });

    this.on('sendMessage', (p) => {
      const chat = this.targetChat(p);
      const text = this.textWithEntities(p, 'text', this.limits.maxTextLength);
      if (!text || text.text.trim() === '') throw bad('message text is empty');
      const reply_markup = this.replyMarkup(p);
      const replyTo = this.replyTo(p, chat);
      const extra: Record<string, unknown> = {};
      const lpo = p.json<Record<string, unknown>>('link_preview_options', 'link preview options JSON object');
      if (lpo) extra['link_preview_options'] = lpo;
      return this.createBotMessage(chat, 'sendMessage', 'text', { text, source: p.str('text'), parse_mode: p.str('parse_mode'), reply_markup, replyTo, extra });
    });

    const sendMedia = (method: string, kind: Exclude<BotMessageKind, 'text'>, fileKind: FileKind) =>
      this.on(method, async (p) => {
        const chat = this.targetChat(p);
        const caption = this.textWithEntities(p, 'caption', this.limits.maxCaptionLength);
        const reply_markup = this.replyMarkup(p);
        const replyTo = this.replyTo(p, chat);
        const file = await this.resolveInputFile(p, kind, fileKind);
        return this.createBotMessage(chat, method, kind, { caption, source: p.str('caption'), parse_mode: p.str('parse_mode'), reply_markup, replyTo, file });
      });
    sendMedia('sendPhoto', 'photo', 'photo');
    sendMedia('sendDocument', 'document', 'document');
    sendMedia('sendVideo', 'video', 'video');
    sendMedia('sendAudio', 'audio', 'audio');
    sendMedia('sendAnimation', 'animation', 'animation');
    sendMedia('sendVoice', 'voice', 'voice');

    this.on('sendMediaGroup', async (p) => {
      const chat = this.targetChat(p);
      const media = p.json<Array<Record<string, unknown>>>('media', 'media JSON array');
      if (!Array.isArray(media) || media.length < 2 || media.length > 10) throw bad('wrong number of media in the group: must be between 2 and 10');
      const types = new Set(media.map((m) => String(m['type'])));
      for (const t of types) if (!['photo', 'video', 'document', 'audio'].includes(t)) throw bad(`unsupported media type "${t}" in the media group`);
      if (types.has('document') && types.size > 1) throw bad("document can't be mixed with other media types");
      if (types.has('audio') && types.size > 1) throw bad("audio can't be mixed with other media types");
      const replyTo = this.replyTo(p, chat);
      const prepared: Array<{ kind: BotMessageKind; file: StoredFile; caption?: Parsed; item: Record<string, unknown> }> = [];
      for (const item of media) {
        const kind = String(item['type']) as 'photo' | 'video' | 'document' | 'audio';
        const itemParams = new Params(item, p.files);
        const caption = this.textWithEntities(itemParams, 'caption', this.limits.maxCaptionLength);
        const file = await this.resolveInputFile(p, 'media', kind, item['media']);
        prepared.push({ kind, file, caption, item });
      }
      const media_group_id = String(13000000000000000 + this.mediaGroupSeq++ * 7919);
      return prepared.map(({ kind, file, caption, item }) =>
        this.createBotMessage(chat, 'sendMediaGroup', kind, {
          caption,
          source: typeof item['caption'] === 'string' ? item['caption'] : undefined,
          parse_mode: typeof item['parse_mode'] === 'string' ? item['parse_mode'] : undefined,
          replyTo,
          file,
          media_group_id,
        }),
      );
    });

    this.on('editMessageText', (p) => {
      const { bm, entry } = this.findEditable(p);
      if (bm.kind !== 'text') throw bad('there is no text in the message to edit');
      const text = this.textWithEntities(p, 'text', this.limits.maxTextLength);
      if (!text || text.text.trim() === '') throw bad('message text is empty');
      return this.applyEdit('editMessageText', bm, entry, { text, source: p.str('text'), parse_mode: p.str('parse_mode'), reply_markup: this.replyMarkup(p, true) });
    });

    this.on('editMessageCaption', (p) => {
      const { bm, entry } = this.findEditable(p);
      if (bm.kind === 'text') throw bad('there is no caption in the message to edit');
      const caption = this.textWithEntities(p, 'caption', this.limits.maxCaptionLength) ?? { text: '', entities: [] };
      return this.applyEdit('editMessageCaption', bm, entry, { caption, source: p.str('caption') ?? '', parse_mode: p.str('parse_mode'), reply_markup: this.replyMarkup(p, true) });
    });

    this.on('editMessageReplyMarkup', (p) => {
      const { bm, entry } = this.findEditable(p);
      return this.applyEdit('editMessageReplyMarkup', bm, entry, { reply_markup: this.replyMarkup(p, true) });
    });

    this.on('deleteMessage', (p) => {
      const chat = this.targetChat(p, false);
      const id = p.num('message_id');
      const entry = id === undefined ? undefined : chat.entries.get(id);
      if (!entry || entry.deleted) throw bad('message to delete not found');
      this.markDeleted(entry);
      return true;
    });

    this.on('deleteMessages', (p) => {
      const chat = this.targetChat(p, false);
      const ids = p.json<number[]>('message_ids', 'message identifiers JSON array') ?? [];
      if (!Array.isArray(ids) || ids.length < 1 || ids.length > 100) throw bad('message identifiers are not specified');
      for (const id of ids) {
        const entry = chat.entries.get(Number(id));
        if (entry && !entry.deleted) this.markDeleted(entry);
      }
      return true;
    });

    this.on('answerCallbackQuery', (p) => {
      const id = p.str('callback_query_id') ?? '';
      const q = this.callbackQueries.get(id);
      if (!q || q.answered) throw bad('query is too old and response timeout expired or query ID is invalid');
      const text = p.str('text');
      if (text !== undefined && codePoints(text) > 200) throw bad('MESSAGE_TOO_LONG');
      q.answered = true;
      const ans: CallbackAnswer = { callback_query_id: id, at: Date.now() };
      if (text !== undefined) ans.text = text;
      if (p.has('show_alert')) ans.show_alert = p.bool('show_alert');
      if (p.has('url')) ans.url = p.str('url');
      if (p.has('cache_time')) ans.cache_time = p.num('cache_time');
      this.callbackAnswers.set(id, ans);
      return true;
    });

    this.on('sendChatAction', (p) => {
      const chat = this.targetChat(p);
      const action = p.str('action') ?? '';
      if (!CHAT_ACTIONS.has(action)) throw bad('wrong parameter action in request');
      chat.chatActions.push({ action, at: Date.now() });
      return true;
    });

    this.on('setMyCommands', (p) => {
      const commands = p.json<BotCommand[]>('commands', 'commands JSON array');
      if (!Array.isArray(commands)) throw bad('commands not specified');
      if (commands.length > 100) throw bad('too many commands specified');
      for (const c of commands) {
        if (!c || typeof c.command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(c.command)) throw bad('BOT_COMMAND_INVALID');
        if (typeof c.description !== 'string' || c.description.length < 1 || c.description.length > 256) throw bad('command description must be non-empty');
      }
      this.commandSets.set(commandKey(p.json('scope', 'scope JSON object'), p.str('language_code')), commands.map((c) => ({ command: c.command, description: c.description })));
      return true;
    });

    this.on('getMyCommands', (p) => this.commandSets.get(commandKey(p.json('scope', 'scope JSON object'), p.str('language_code'))) ?? []);

    this.on('deleteMyCommands', (p) => {
      this.commandSets.delete(commandKey(p.json('scope', 'scope JSON object'), p.str('language_code')));
      return true;
    });

    this.on('getFile', (p) => {
      const id = p.str('file_id') ?? '';
      const f = this.files.get(id);
      if (!f) throw bad('invalid file_id');
      if (f.size > this.limits.maxDownloadBytes) throw bad('file is too big');
      if (!f.file_path) {
        const dir = { photo: 'photos', document: 'documents', video: 'videos', audio: 'music', animation: 'animations', voice: 'voice', sticker: 'stickers', video_note: 'video_notes' }[f.kind];
        const ext = f.kind === 'photo' ? 'jpg' : (f.file_name?.includes('.') ? f.file_name.split('.').pop() : extFor(f.kind));
        f.file_path = `${dir}/file_${this.nextFilePath++}.${ext}`;
        this.filesByPath.set(f.file_path, f);
      }
      return { file_id: f.file_id, file_unique_id: f.file_unique_id, file_size: f.size, file_path: f.file_path };
    });

    this.on('getChat', (p) => {
      const chat = this.targetChat(p, false);
      return { ...chat.chat, accent_color_id: 0, max_reaction_count: 11, accepted_gift_types: { unlimited_gifts: false, limited_gifts: false, unique_gifts: false, premium_subscription: false } };
    });

    for (const m of ['setMyDescription', 'setMyShortDescription', 'setMyName', 'setChatMenuButton', 'setMyDefaultAdministratorRights']) {
      this.on(m, () => true);
    }
    this.on('logOut', () => true);
    this.on('close', () => true);
  }

  private markDeleted(entry: ChatMessageEntry): void {
    entry.deleted = true;
    if (entry.bot) {
      entry.bot.deleted = true;
      entry.bot.deletedAt = Date.now();
    }
  }

  private dropPending(): void {
    for (const u of this.pending) if (!this.inFlight.has(u.update_id)) this.deliveryMeta.delete(u.update_id);
    this.pending = this.pending.filter((u) => this.inFlight.has(u.update_id));
  }

  private deleteWebhook(drop: boolean): Described {
    const had = !!this.webhook;
    this.webhook = null;
    this.lastWebhookError = undefined;
    if (drop) this.dropPending();
    for (const u of this.pending) this.deliveryMeta.delete(u.update_id);
    return new Described(true, had ? 'Webhook was deleted' : 'Webhook is already deleted');
  }

  // ── webhook delivery ──

  private pump(): void {
    if (!this.webhook || this.closed) return;
    if (this.pumpTimer) {
      clearTimeout(this.pumpTimer);
      this.pumpTimer = undefined;
    }
    const now = Date.now();
    const blocked = new Set<string>();
    let soonest = Infinity;
    this.pending = this.pending.filter((u) => this.isAllowed(u));
    for (const u of this.pending) {
      const key = updateChatKey(u);
      if (this.inFlight.has(u.update_id)) {
        blocked.add(key);
        continue;
      }
      if (blocked.has(key)) continue;
      const meta = this.deliveryMeta.get(u.update_id);
      if (meta && meta.nextAttemptAt > now) {
        soonest = Math.min(soonest, meta.nextAttemptAt);
        blocked.add(key);
        continue;
      }
      if (this.inFlight.size >= this.webhook.maxConnections) break;
      blocked.add(key);
      void this.deliver(u, this.webhook);
    }
    if (soonest !== Infinity) this.pumpTimer = setTimeout(() => this.pump(), Math.max(0, soonest - now));
  }

  private async deliver(u: Update, hook: WebhookState): Promise<void> {
    let meta = this.deliveryMeta.get(u.update_id);
    if (!meta) {
      meta = { attempts: 0, nextAttemptAt: 0, duplicates: 0 };
      if (this.duplicateBudget > 0) {
        this.duplicateBudget--;
        meta.duplicates = 1;
      }
      this.deliveryMeta.set(u.update_id, meta);
    }
    this.inFlight.add(u.update_id);
    meta.attempts++;
    const started = Date.now();
    const body = JSON.stringify(u);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
    if (hook.secretToken) headers['X-Telegram-Bot-Api-Secret-Token'] = hook.secretToken;
    let status = 0;
    let error: string | undefined;
    let respBody: Buffer | undefined;
    let respType: string | undefined;
    try {
      const r = await postRaw(hook.url, headers, body, this.webhookOpts.timeoutMs, this.closeController.signal);
      status = r.status;
      respBody = r.body;
      respType = r.contentType;
      if (status < 200 || status > 299) error = `Wrong response from the webhook: ${status} ${r.statusText}`.trim();
    } catch (e) {
      error = describeNetError(e);
    }
    this.inFlight.delete(u.update_id);
    if (this.closed) return;
    const ok = error === undefined;
    this.webhookDeliveries.push({ update_id: u.update_id, attempt: meta.attempts, status, ok, error, secretToken: hook.secretToken, time: started, durationMs: Date.now() - started });
    if (ok) {
      if (meta.duplicates > 0) {
        meta.duplicates--;
        meta.nextAttemptAt = 0;
      } else {
        this.pending = this.pending.filter((x) => x.update_id !== u.update_id);
        this.deliveryMeta.delete(u.update_id);
      }
      if (respBody && respBody.length && /json/i.test(respType ?? '')) await this.webhookReply(respBody);
    } else {
      this.lastWebhookError = { date: nowSec(), message: error! };
      if (meta.attempts >= this.webhookOpts.maxAttempts) {
        this.pending = this.pending.filter((x) => x.update_id !== u.update_id);
        this.deliveryMeta.delete(u.update_id);
      } else {
        const delay = Math.min(this.webhookOpts.maxRetryDelayMs, this.webhookOpts.retryDelayMs * this.webhookOpts.backoffFactor ** (meta.attempts - 1));
        meta.nextAttemptAt = Date.now() + delay;
      }
    }
    this.changed();
    this.pump();
  }

  /** A webhook may answer with `{"method": "...", ...params}` — executed like Telegram does. */
  private async webhookReply(body: Buffer): Promise<void> {
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      return;
    }
    if (!payload || typeof payload !== 'object' || typeof payload['method'] !== 'string') return;
    const { method, ...rest } = payload as { method: string } & Record<string, unknown>;
    const handler = this.handlers.get(method.toLowerCase());
    const chatIdNum = Number(rest['chat_id']);
    const call: CallRecord = {
      seq: ++this.seq,
      method: handler?.name ?? method,
      params: rest,
      time: Date.now(),
      chatId: rest['chat_id'] !== undefined && Number.isFinite(chatIdNum) ? chatIdNum : undefined,
      status: 0,
      ok: false,
      viaWebhookReply: true,
    };
    this.calls.push(call);
    if (!handler || call.method === 'getUpdates') {
      call.status = 404;
      call.description = 'Not Found';
      return;
    }
    try {
      const r = await handler.fn(new Params(rest, new Map()), { call, onClose: () => {} });
      this.countSuccess(call.method, call, r);
      call.status = 200;
      call.ok = true;
    } catch (e) {
      call.status = e instanceof TelegramApiError ? e.code : 500;
      call.description = e instanceof TelegramApiError ? e.description : String(e);
    }
    call.durationMs = Date.now() - call.time;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closeController.abort();
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    if (this.poller) {
      clearTimeout(this.poller.timer);
      this.poller.resolve([]);
      this.poller = null;
    }
    this.changeListeners.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      setImmediate(() => {
        for (const s of this.sockets) s.destroy();
      });
    });
  }
}

// ─── helpers ───

function stripReply(m: Message): Message {
  const { reply_to_message: _omit, ...rest } = m as Message & { reply_to_message?: unknown };
  return rest as Message;
}

function inlineOnly(rm: any): any {
  return rm?.inline_keyboard ? { inline_keyboard: rm.inline_keyboard } : undefined;
}

function commandKey(scope: unknown, lang: string | undefined): string {
  const s = scope && typeof scope === 'object' ? JSON.stringify(scope) : '{"type":"default"}';
  return `${s}|${lang ?? ''}`;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function extFor(kind: FileKind): string {
  return { photo: 'jpg', document: 'dat', video: 'mp4', audio: 'mp3', animation: 'mp4', voice: 'ogg', sticker: 'webp', video_note: 'mp4' }[kind];
}

function guessMime(name: string | undefined): string | undefined {
  const ext = name?.split('.').pop()?.toLowerCase();
  const map: Record<string, string> = {
    pdf: 'application/pdf',
    zip: 'application/zip',
    txt: 'text/plain',
    csv: 'text/csv',
    json: 'application/json',
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    webp: 'image/webp',
    gif: 'image/gif',
    mp4: 'video/mp4',
    mp3: 'audio/mpeg',
    ogg: 'audio/ogg',
    xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  };
  return ext ? map[ext] : undefined;
}

function fileToApi(f: StoredFile): Record<string, unknown> {
  const o: Record<string, unknown> = { file_id: f.file_id, file_unique_id: f.file_unique_id, file_size: f.size };
  if (f.file_name) o['file_name'] = f.file_name;
  if (f.mime_type) o['mime_type'] = f.mime_type;
  if (f.width) o['width'] = f.width;
  if (f.height) o['height'] = f.height;
  return o;
}

function detectCommands(text: string): MessageEntity[] {
  const out: MessageEntity[] = [];
  const re = /(^|[\s([{])(\/[a-zA-Z0-9_]{1,64}(?:@[a-zA-Z0-9_]{3,32})?)(?![a-zA-Z0-9_@/])/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    out.push({ type: 'bot_command', offset: m.index + m[1]!.length, length: m[2]!.length });
  }
  return out;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseParams(url: URL, contentType: string | undefined, body: Buffer): Params {
  const raw: Record<string, unknown> = {};
  const files = new Map<string, MultipartFile>();
  for (const [k, v] of url.searchParams) raw[k] = v;
  const ct = (contentType ?? '').toLowerCase();
  if (body.length > 0) {
    if (ct.startsWith('application/json')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw bad("can't parse JSON object");
      }
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) Object.assign(raw, parsed);
    } else if (ct.startsWith('application/x-www-form-urlencoded')) {
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) raw[k] = v;
    } else if (ct.startsWith('multipart/form-data')) {
      const boundary = getBoundary(contentType);
      if (!boundary) throw bad('multipart boundary not found');
      let parts;
      try {
        parts = parseMultipart(body, boundary);
      } catch {
        throw bad('failed to parse multipart/form-data');
      }
      for (const part of parts) {
        if (part.kind === 'field') raw[part.name] = part.value;
        else files.set(part.name, part);
      }
    }
  }
  return new Params(raw, files);
}

function postRaw(
  target: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ status: number; statusText: string; contentType?: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const u = new URL(target);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(u, { method: 'POST', headers, agent: false, signal });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('Read timeout expired'), { code: 'ETIMEDOUT_FAKE' })), timeoutMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', contentType: res.headers['content-type'], body: Buffer.concat(chunks) });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(body);
  });
}

function describeNetError(e: unknown): string {
  const err = e as { code?: string; message?: string };
  if (err?.code === 'ETIMEDOUT_FAKE') return 'Read timeout expired';
  if (err?.code === 'ECONNREFUSED') return 'Connection refused';
  if (err?.code === 'ECONNRESET') return 'Connection reset by peer';
  return `Failed to connect: ${err?.code ?? err?.message ?? String(e)}`;
}

// ───────────────────────────────────────────────────────────── entry point ──

export async function startFakeTelegram(opts: FakeTelegramOptions = {}): Promise<FakeTelegram> {
  const s = new FakeTelegramServer(opts);
  await s.listen(opts.port ?? 0);
  return s;
}
