// /help: what the bot does and its commands.
import { Composer } from 'grammy';
import type { BotContext } from '../context.ts';

export const help = new Composer<BotContext>();

help.command('help', (ctx) => ctx.reply(ctx.t.help));
