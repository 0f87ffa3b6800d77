// Every text in every language: the SDK's tables (sdk/src/i18n.js) and the
// capture page's (h5/texts.js) have exactly English's keys, no empty text,
// and the same {placeholders}.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LANGUAGES, RTL_LANGUAGES, TABLES, normalizeLanguage, textDirection, textFor } from '../src/i18n.js';
import { RESULT_CODES } from '../src/protocol.js';
import { HTML_LANG, TEXT } from '../../h5/texts.js';
import { RctVideo } from '../src/index.js';

function placeholders(s) {
  return [...String(s).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

function checkTables(tables, what) {
  const en = tables.en;
  const keys = Object.keys(en).sort();
  for (const lang of LANGUAGES) {
    const t = tables[lang];
    assert.ok(t, what + ': no ' + lang + ' table');
    assert.deepEqual(Object.keys(t).sort(), keys, what + ' ' + lang + ': keys differ from en');
    for (const k of keys) {
      const forms = typeof en[k] === 'object' ? Object.keys(en[k]) : [null];
      for (const f of forms) {
        const v = f == null ? t[k] : t[k] && t[k][f];
        const e = f == null ? en[k] : en[k][f];
        const name = what + ' ' + lang + '.' + k + (f ? '.' + f : '');
        assert.equal(typeof v, 'string', name);
        assert.ok(v.trim().length > 0, name + ' is empty');
        assert.equal(v, v.trim(), name + ' has surrounding spaces');
        assert.deepEqual(placeholders(v), placeholders(e), name + ': placeholders differ');
      }
      if (typeof en[k] === 'object') assert.deepEqual(Object.keys(t[k]).sort(), Object.keys(en[k]).sort(), what + ' ' + lang + '.' + k);
    }
  }
  assert.deepEqual(Object.keys(tables).sort(), [...LANGUAGES].sort(), what + ': tables for other languages');
}

test('at least ten languages, one of them right to left', () => {
  assert.ok(LANGUAGES.length >= 10, LANGUAGES.join());
  assert.equal(LANGUAGES[0], 'en');
  assert.ok(RTL_LANGUAGES.length >= 1);
  for (const l of RTL_LANGUAGES) assert.ok(LANGUAGES.includes(l), l);
  assert.deepEqual(RctVideo.languages, LANGUAGES);
});

test('SDK texts: every key in every language, none empty', () => {
  checkTables(TABLES, 'sdk');
  for (const c of RESULT_CODES) assert.ok(Object.hasOwn(TABLES.en, c), 'no text for ' + c);
});

test('capture page texts: every key in every language, none empty', () => {
  checkTables(TEXT, 'page');
  assert.deepEqual(Object.keys(HTML_LANG).sort(), [...LANGUAGES].sort());
});

test('translations are not English left in place', () => {
  for (const lang of LANGUAGES) {
    if (lang === 'en') continue;
    const same = Object.keys(TABLES.en).filter((k) => TABLES[lang][k] === TABLES.en[k]);
    assert.deepEqual(same, [], 'sdk ' + lang);
    const pageSame = Object.keys(TEXT.en).filter((k) => typeof TEXT.en[k] === 'string' && TEXT[lang][k] === TEXT.en[k]);
    assert.ok(pageSame.length <= 2, 'page ' + lang + ': ' + pageSame.join());
  }
});

test('language selection: tags, get_token codes, fallback to English', () => {
  assert.equal(normalizeLanguage('0'), 'en');
  assert.equal(normalizeLanguage('1'), 'zh');
  assert.equal(normalizeLanguage('zh-Hant-TW'), 'zh');
  assert.equal(normalizeLanguage('pt-BR'), 'pt');
  assert.equal(normalizeLanguage('AR_eg'), 'ar');
  assert.equal(normalizeLanguage(' ja '), 'ja');
  assert.equal(normalizeLanguage('xx-YY'), 'en');
  assert.equal(normalizeLanguage('toString'), 'en');
  assert.equal(normalizeLanguage(''), 'en');
  assert.equal(normalizeLanguage(null), 'en');
  assert.equal(textDirection('ar'), 'rtl');
  assert.equal(textDirection('ar-SA'), 'rtl');
  assert.equal(textDirection('he'), 'ltr', 'no Hebrew texts: English, left to right');
  assert.equal(textDirection('fr'), 'ltr');
  assert.equal(RctVideo.direction('ar'), 'rtl');
  assert.equal(textFor('KeepStill', 'de-AT'), 'Bitte stillhalten');
  assert.equal(RctVideo.text('KeepStill', 'xx'), 'Keep still');
});
