/**
 * A strict little XML reader for checking the JUnit reports: elements, attributes and text, with the five
 * named entities and numeric references. It throws on anything a real parser would refuse (a bad tag, an
 * unquoted attribute, a bare `&` or `<`, a character XML 1.0 forbids, mismatched or unclosed elements), so a
 * report that passes it is well-formed. No DTDs, comments, CDATA or processing instructions besides the prolog.
 */
export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  text: string;
}

const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
// eslint-disable-next-line no-control-regex -- tab, LF and CR are the control characters XML allows
const forbiddenChar = /[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;
const name = '[A-Za-z_][-A-Za-z0-9_.:]*';

function decode(raw: string, where: string): string {
  if (forbiddenChar.test(raw)) throw new Error(`forbidden character in ${where}`);
  return raw.replace(/&([^;\s&<]*);?/g, (match, ref: string) => {
    if (!match.endsWith(';')) throw new Error(`bare & in ${where}`);
    if (ref in entities) return entities[ref] ?? '';
    const numeric = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(ref);
    if (!numeric) throw new Error(`unknown entity &${ref}; in ${where}`);
    return String.fromCodePoint(parseInt(numeric[1] ?? numeric[2] ?? '', numeric[1] ? 16 : 10));
  });
}

export function parseXml(xml: string): XmlElement {
  let at = 0;
  const prolog = /^<\?xml[^?]*\?>\s*/.exec(xml);
  if (prolog) at = prolog[0].length;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const openTag = new RegExp(`<(${name})((?:\\s+${name}\\s*=\\s*"[^"]*")*)\\s*(/?)>`, 'y');
  const closeTag = new RegExp(`</(${name})\\s*>`, 'y');
  const attribute = new RegExp(`(${name})\\s*=\\s*"([^"]*)"`, 'g');
  while (at < xml.length) {
    const lt = xml.indexOf('<', at);
    const text = xml.slice(at, lt === -1 ? xml.length : lt);
    const parent = stack.at(-1);
    if (text !== '') {
      if (parent === undefined) {
        if (text.trim() !== '') throw new Error(`text outside the root element at ${at}`);
      } else {
        if (text.includes(']]>')) throw new Error(`]]> in text at ${at}`);
        parent.text += decode(text, `the text of <${parent.name}>`);
      }
    }
    if (lt === -1) break;
    closeTag.lastIndex = lt;
    const close = closeTag.exec(xml);
    if (close) {
      const open = stack.pop();
      if (open?.name !== close[1]) throw new Error(`</${close[1]}> closes <${open?.name ?? 'nothing'}> at ${lt}`);
      at = closeTag.lastIndex;
      continue;
    }
    openTag.lastIndex = lt;
    const open = openTag.exec(xml);
    if (!open) throw new Error(`malformed tag at ${lt}: ${JSON.stringify(xml.slice(lt, lt + 40))}`);
    const attributes: Record<string, string> = {};
    for (const [, key = '', value = ''] of (open[2] ?? '').matchAll(attribute)) {
      if (key in attributes) throw new Error(`attribute ${key} twice at ${lt}`);
      if (value.includes('<')) throw new Error(`< in attribute ${key} at ${lt}`);
      attributes[key] = decode(value, `attribute ${key}`);
    }
    const element: XmlElement = { name: open[1] ?? '', attributes, children: [], text: '' };
    if (parent) parent.children.push(element);
    else if (root) throw new Error(`a second root element at ${lt}`);
    else root = element;
    if (open[3] !== '/') stack.push(element);
    at = openTag.lastIndex;
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.map((element) => element.name).join('> <')}>`);
  if (!root) throw new Error('no root element');
  return root;
}

/** Every element called `name`, at any depth. */
export function findAll(element: XmlElement, name: string): XmlElement[] {
  return [...(element.name === name ? [element] : []), ...element.children.flatMap((child) => findAll(child, name))];
}
