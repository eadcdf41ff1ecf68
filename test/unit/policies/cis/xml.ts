/** A strict reader for the XML the JUnit writer emits: the tests parse its output back with it. */

export interface XmlElement {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: XmlElement[];
  text: string;
}

const ENTITY = /&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g;
const NAME = '[A-Za-z_][\\w.-]*';

function decode(raw: string, where: string): string {
  if (/&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)/.test(raw)) throw new Error(`a bare & in ${where}`);
  return raw.replace(ENTITY, (_all, entity: string) => {
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (named[entity] !== undefined) return named[entity];
    return String.fromCodePoint(entity.startsWith('#x') ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10));
  });
}

/**
 * Just enough of XML 1.0 to check what the JUnit writer produces: an optional declaration, one root
 * element, nested elements with double-quoted attributes, text and entity references. Throws on
 * anything not well-formed; no comments, CDATA or doctypes since the writer emits none.
 */
export function parseXml(xml: string): XmlElement {
  let rest = xml.replace(/^<\?xml [^?]*\?>\s*/, '');
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const openTag = new RegExp(`^<(${NAME})((?:\\s+${NAME}="[^"<]*")*)\\s*(/?)>`);
  const closeTag = new RegExp(`^</(${NAME})\\s*>`);
  while (rest.length > 0) {
    if (rest.startsWith('</')) {
      const match = closeTag.exec(rest);
      const top = stack.pop();
      if (!match || !top || top.name !== match[1]) throw new Error(`mismatched close tag at: ${rest.slice(0, 40)}`);
      rest = rest.slice(match[0].length);
      continue;
    }
    if (rest.startsWith('<')) {
      const match = openTag.exec(rest);
      if (!match) throw new Error(`not a tag: ${rest.slice(0, 40)}`);
      const attrs: Record<string, string> = {};
      for (const attr of match[2]!.matchAll(new RegExp(`(${NAME})="([^"]*)"`, 'g'))) {
        if (attr[1]! in attrs) throw new Error(`attribute ${attr[1]} twice`);
        attrs[attr[1]!] = decode(attr[2]!, `attribute ${attr[1]}`);
      }
      const element: XmlElement = { name: match[1]!, attrs, children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(element);
      else if (root) throw new Error('more than one root element');
      else root = element;
      if (match[3] !== '/') stack.push(element);
      rest = rest.slice(match[0].length);
      continue;
    }
    const end = rest.indexOf('<');
    const raw = end === -1 ? rest : rest.slice(0, end);
    const parent = stack[stack.length - 1];
    if (!parent && raw.trim() !== '') throw new Error(`text outside the root: ${raw.slice(0, 40)}`);
    if (parent) parent.text += decode(raw, `<${parent.name}>`);
    rest = end === -1 ? '' : rest.slice(end);
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (!root) throw new Error('no root element');
  return root;
}
