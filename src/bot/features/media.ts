// Everything that is not a usable photo or text gets a polite hint of what to send.
// Registered last: only what no other feature handled reaches here.
import { Composer } from 'grammy';
import type { BotContext } from '../context.ts';

export const media = new Composer<BotContext>();

media.on('message:sticker', (ctx) => ctx.reply(ctx.t.sticker));
media.on(['message:voice', 'message:audio'], (ctx) => ctx.reply(ctx.t.voice));
media.on(['message:video', 'message:video_note', 'message:animation'], (ctx) => ctx.reply(ctx.t.video));
media.on('message:text', (ctx) => ctx.reply(ctx.t.help)); // unknown /commands
media.on('message', (ctx) => ctx.reply(ctx.t.otherContent));
media.on('callback_query:data', (ctx) => ctx.answerCallbackQuery({ text: ctx.t.outdated }));
