// widgets.js: the small pieces the lazily loaded panels share (panel.js,
// devices.js, roomadmin.js): an element built from its properties, and a
// button that acts only when tapped twice. Loaded with the first of them,
// never on the first load. Text is given as `textContent`, never as HTML.

import { t, addStrings } from './i18n.js';

addStrings({
  en: { sure: '{what}? Tap again' },
  es: { sure: '¿{what}? Toca otra vez' },
  pt: { sure: '{what}? Toque de novo' },
});

/** An element with `props` (`textContent`, `className`, handlers…) and `children`. */
export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/**
 * A button that acts only when tapped twice (Remove, Ban, Unlink, Leave):
 * the first tap turns it red and asks, for a few seconds.
 */
export function confirmed(button, act) {
  const label = button.textContent;
  let timer = null;
  const calm = () => {
    button.classList.remove('armed');
    button.textContent = label;
  };
  button.addEventListener('click', () => {
    if (!button.classList.contains('armed')) {
      button.classList.add('armed');
      button.textContent = t('sure', { what: label });
      timer = setTimeout(calm, 5000);
      return;
    }
    clearTimeout(timer);
    calm();
    act();
  });
  return button;
}

/** The event a change of blocks raises on `document`, for whichever panel shows them. */
export const BLOCKS_CHANGED = 'wachat-blocks-changed';
