// Русские тексты (основной язык продавцов Wildberries и Ozon).
// Typed by the English catalog itself (index.ts's Messages is the same type): importing
// index.ts from here would be an import cycle.
import type en from './en.ts';

const ru: typeof en = {
  langName: 'Русский',
  start: (name: string) =>
    `Здравствуйте, ${name}! Я превращаю фото товара и пару слов в готовую карточку для Wildberries и Ozon (JPEG 900×1200).\n` +
    `Пришлите фото товара, чтобы начать, — как фото или как файл-картинку.`,
  help:
    'Как это работает: фото товара (я сразу вырежу товар) → название → преимущества → цена (можно пропустить) → ' +
    'маркетплейс и шаблон → подтверждение. Придут 3 варианта главной картинки: нажмите 1, 2 или 3, и набор ' +
    '(главная картинка + инфографика) придёт альбомом и zip-архивом JPEG в полном разрешении.\n\n' +
    '/start — новая карточка\n/status — заказы в работе\n/cancel — отменить заказ или текущую карточку\n' +
    '/history — последние 10 карточек (можно прислать снова)\n/lang — язык\n/help — эта справка',
  askPhoto: 'Пришлите фото товара (как фото или файлом JPEG/PNG/WebP).',
  askTitle: 'Фото получил 👍 Теперь название товара, до 60 символов.',
  cutoutReady: 'Вот ваш товар без фона ✂️ После подтверждения он встанет на 3 фона.',
  framed: (why: string) => `Не удалось надёжно вырезать товар (${why}), поэтому фото будет вставлено в рамку как есть.`,
  framedWhy: {
    low_confidence: 'контур получился неуверенным', cluttered: 'слишком пёстрый фон',
    no_product: 'товар не выделяется на фоне', fills_frame: 'товар занимает всё фото',
    provider_failed: 'сервис вырезания не ответил',
  },
  askMarketplace: 'Для какого маркетплейса набор? Его правила к картинкам проверю перед отправкой.',
  tapMarketplace: 'Нажмите Wildberries или Ozon выше 👆',
  askNewTitle: 'Пришлите новое название, до 60 символов.',
  titleEmpty: 'Название не может быть пустым. Пришлите название товара, до 60 символов.',
  titleTooLong: (n: number) => `Здесь ${n} символов, а помещается 60. Сократите, пожалуйста.`,
  unsupportedChars: (chars: string) => `Эти символы не получится напечатать на карточке: ${chars}. Эмодзи на карточках не печатаются. Пришлите текст без них, пожалуйста.`,
  askFeatures: 'Преимущества: до 5 штук, каждое с новой строки. Например:\nХлопок 100%\nРазмеры 42–56',
  featuresTrimmed: 'На карточку помещается 5 преимуществ — я оставил первые пять.',
  askPrice: 'Цена в ₽ (например, 1990) или нажмите «Пропустить».',
  badPrice: 'Пришлите цену числом, например 1990, или нажмите «Пропустить».',
  chooseTemplate: 'Выберите шаблон (на картинке слева направо):',
  tapTemplate: 'Нажмите одну из кнопок шаблонов выше 👆',
  tapSummary: 'Нажмите «Подтвердить», «Изменить» или «Отмена» под сводкой выше 👆',
  summary: (d: { title: string; features: string[]; price: string | null; template: string; marketplace: string }) =>
    `Ваша карточка:\n\nНазвание: ${d.title}\nПреимущества:\n${d.features.length ? d.features.map((f) => `• ${f}`).join('\n') : '—'}\n` +
    `Цена: ${d.price ?? '—'}\nМаркетплейс: ${d.marketplace}\nШаблон: ${d.template}\n\nВсё верно?`,
  editWhat: 'Что изменить?',
  draftCanceled: 'Отменено. Пришлите фото, когда захотите новую карточку.',
  queued: (id: number, pos: number, eta: number) =>
    `Заказ №${id} принят ✅\nВы ${pos}-й в очереди, примерно ${eta} с. Пришлю сюда 3 варианта.`,
  rendering: (id: number) => `Заказ №${id}: вырезаю товар… ✂️`,
  cutoutDone: (id: number) => `Заказ №${id}: товар вырезан ✂️ делаю 3 варианта… 🎨`,
  variantsReady: (id: number) => `Заказ №${id}: 3 варианта готовы 👇 выберите главную картинку.`,
  makingSet: (id: number, n: number) => `Заказ №${id}: выбран вариант ${n}, делаю набор… 🧩`,
  sent: (id: number) => `Заказ №${id}: готово ✅ Набор ниже.`,
  canceledAck: (id: number) => `Заказ №${id}: отменён.`,
  failedAck: (id: number) => `Заказ №${id}: не получилось ❌`,
  badPhoto: (id: number, why: string) => `Заказ №${id}: не могу использовать это фото — ${why}. Пришлите, пожалуйста, другое фото.`,
  photoWhy: {
    empty: 'файл пустой', not_image: 'это не изображение', too_large_bytes: 'файл слишком большой',
    too_large_pixels: 'слишком большое изображение', too_small: 'слишком маленькое изображение (нужно от 160 px по стороне)',
    corrupt: 'файл повреждён', animated: 'это анимация', download: 'Telegram не дал его скачать',
  },
  cardCaption: (id: number, title: string) => `№${id} ${title}`,
  variantsCaption: (id: number, title: string) => `№${id} ${title}: варианты 1, 2, 3`,
  variantsFramed: (why: string) => `Фото вставлено в рамку как есть: ${why}.`,
  pickPrompt: (id: number) => `Заказ №${id}: какой вариант сделать главной картинкой? Нажмите 1, 2 или 3.`,
  picked: (n: number) => `Вариант ${n} — делаю набор`,
  alreadyChosen: (n: number) => `Уже выбран вариант ${n}`,
  notReady: 'Варианты ещё не готовы.',
  orderClosed: 'Этот заказ закрыт.',
  setCaption: (id: number, title: string, marketplace: string) => `№${id} ${title} — набор для ${marketplace}`,
  zipCaption: 'Полное разрешение: все слайды в JPEG 900×1200 одним zip — загружайте их на маркетплейс.',
  setBroken: (id: number) => `Заказ №${id}: набор нарушил правила маркетплейса к картинкам, поэтому я его не отправил. Попробуйте другое фото или шаблон.`,
  alreadyOrdered: (id: number) => `Уже заказано: №${id}`,
  outdated: 'Эта сводка устарела. Отправьте /start, чтобы сделать новую карточку.',
  limitOpen: (max: number) =>
    `У вас уже ${max} карточек в работе — это предел. Дождитесь одной или отмените (/cancel) и подтвердите снова.`,
  limitDaily: (quota: number) => `Сегодня вы сделали ${quota} карточек — это дневной лимит. Он обнулится в 03:00 по Москве. До завтра!`,
  statusNone: 'Заказов в работе нет. Пришлите фото, чтобы сделать карточку.',
  statusHead: 'Заказы в работе:',
  statusQueued: (id: number, pos: number, eta: number) => `№${id} — в очереди, ${pos}-й (примерно ${eta} с)`,
  statusRendering: (id: number) => `№${id} — делаю карточку`,
  statusAwaiting: (id: number) => `№${id} — ждёт вашего выбора (1, 2 или 3)`,
  statusRendered: (id: number) => `№${id} — отправляю`,
  cancelNone: 'Отменять нечего.',
  cancelWhich: 'Какой заказ отменить?',
  canceled: (id: number) => `Заказ №${id} отменён и не будет доставлен.`,
  cancelTooLate: (id: number) => `Заказ №${id} уже завершён, отменять нечего.`,
  historyNone: 'Карточек пока нет. Пришлите фото, чтобы сделать первую.',
  historyHead: 'Ваши последние карточки — нажмите, чтобы получить снова:',
  resendGone: 'Не нахожу эту карточку.',
  chooseLang: 'Выберите язык:',
  langSet: 'Язык: русский 🇷🇺',
  sticker: 'Из стикера карточку не сделать 🙂 Пришлите, пожалуйста, фото товара.',
  voice: 'Голосовые я не понимаю. Пришлите фото товара, а тексты напишите.',
  video: 'Нужно фото, а не видео. Пришлите, пожалуйста, фото товара.',
  photoRejected: (why: string) => `Этот файл не подойдёт — ${why}. Пришлите, пожалуйста, фото товара (JPEG, PNG или WebP).`,
  notImage: 'Этот файл — не картинка, которую я могу использовать. Пришлите фото или файл JPEG, PNG или WebP.',
  tooBig: (mb: number, max: number) =>
    `Файл весит ${mb} МБ, а боты могут скачать не больше ${max} МБ. Пришлите его как фото (Telegram сожмёт) или файл поменьше.`,
  otherContent: 'Пришлите фото товара или /help.',
  newCard: '🆕 Новая карточка',
  btnConfirm: '✅ Подтвердить',
  btnEdit: '✏️ Изменить',
  btnCancel: '✖️ Отмена',
  btnSkip: 'Пропустить',
  btnTitle: 'Название',
  btnFeatures: 'Преимущества',
  btnPrice: 'Цена',
  btnTemplate: 'Шаблон',
  btnMarketplace: 'Маркетплейс',
  btnPhoto: 'Фото',
  btnBack: '← Назад',
  notYours: 'Это не ваш заказ.',
  stats: (s: Record<string, string | number | null>) =>
    `Очередь: ждут ${s.queued}, в работе ${s.running}, отложено ${s.scheduled}, мёртвых ${s.dead}\n` +
    `Воркеров: ${s.workers}, самая старая задача ждёт ${s.oldest} с\n24 ч: успешно ${s.succeeded}, ошибок ${s.failed}, в среднем ${s.avg} с, p95 ${s.p95} с\n` +
    `Заказов сегодня: ${s.today} (доставлено ${s.sent}, в работе ${s.open}, ошибок ${s.failedOrders}, недоставляемых ${s.undeliverable}), ` +
    `пользователей ${s.users}; рендер в среднем ${s.renderMs} мс; доставка p50 ${s.p50} с, p95 ${s.p95d} с`,
  statsAi: (s: { total: string; orders: number; avg: string; calls: number }) =>
    `Расходы на ИИ (по данным провайдера): всего ${s.total}, заказов ${s.orders}, ${s.avg} на заказ, платных вызовов ${s.calls}`,
  error: 'Что-то пошло не так на моей стороне. Попробуйте, пожалуйста, через минуту.',
  commands: {
    start: 'Новая карточка', status: 'Заказы в работе', cancel: 'Отменить заказ', history: 'Последние карточки',
    help: 'Справка', lang: 'Язык',
  },
};
export default ru;
