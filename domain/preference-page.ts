import { ALL_MARKETING } from './consent.ts';
import type { Preferences } from './use-cases/unsubscribe.ts';

// The small pages the unsubscribe endpoint answers with: plain HTML forms that work without
// JavaScript, every printed value escaped. No address in full, no token but in the forms' action.

const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

const page = (title: string, body: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
li{margin:.5rem 0;display:flex;gap:1rem;align-items:center;justify-content:space-between}form{margin:0}
button{padding:.3rem .8rem}.notice{background:#eef6ee;padding:.5rem 1rem}</style>
</head>
<body>
${body}
</body>
</html>
`;

const button = (action: string, topic: string, granted: boolean, label: string) =>
  `<form method="post" action="${escapeHtml(action)}">` +
  `<input type="hidden" name="topic" value="${escapeHtml(topic)}">` +
  `<input type="hidden" name="granted" value="${granted}">` +
  `<button type="submit">${escapeHtml(label)}</button></form>`;

/** The preference page: every topic with its state, one button each; `notice` says what just changed. */
export const renderPreferencePage = (preferences: Preferences, action: string, notice?: string): string => {
  const marketing = preferences.topics.filter((t) => !t.transactional);
  const rows = preferences.topics.map((topic) => {
    const state = topic.transactional
      ? 'always sent (it is about your orders, not marketing)'
      : topic.receives
        ? 'subscribed'
        : topic.code === 'suppressed'
          ? 'not sent: this address is suppressed'
          : 'not subscribed';
    const control = topic.transactional
      ? ''
      : button(action, topic.id, !topic.receives, topic.receives ? 'Unsubscribe' : 'Subscribe');
    return `<li data-topic="${escapeHtml(topic.id)}"><span><strong>${escapeHtml(topic.name)}</strong>: ${escapeHtml(state)}</span>${control}</li>`;
  });
  const anyReceived = marketing.some((t) => t.receives);
  const all = anyReceived
    ? button(action, ALL_MARKETING, false, 'Unsubscribe from all marketing email')
    : button(action, ALL_MARKETING, true, 'Subscribe to all marketing email');
  return page(
    `${preferences.programName}: email preferences`,
    `<h1>Email preferences</h1>
<p>${escapeHtml(preferences.programName)} emails for ${escapeHtml(preferences.maskedEmail)}.</p>
${notice ? `<p class="notice" role="status">${escapeHtml(notice)}</p>` : ''}
<ul>
${rows.join('\n')}
</ul>
${marketing.length > 0 ? all : ''}
`,
  );
};

/** The answer to a one-click unsubscribe and to anything that cannot be served. */
export const renderMessagePage = (title: string, message: string): string =>
  page(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>`);
