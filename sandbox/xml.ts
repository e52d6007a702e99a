/**
 * A small XML writer for AWS query-protocol responses. Objects become elements in key order,
 * `XmlList` becomes repeated child elements (`item` for EC2, `member` for STS and CloudFormation),
 * `null`/`undefined` members are left out.
 */
export type XmlValue = string | number | boolean | Date | null | undefined | XmlList | XmlObject;
export interface XmlObject {
  [element: string]: XmlValue;
}

export class XmlList {
  constructor(
    readonly itemElement: string,
    readonly values: readonly XmlValue[],
  ) {}
}

/** EC2 lists: `<imagesSet><item>…</item></imagesSet>`. */
export const items = (values: readonly XmlValue[]): XmlList => new XmlList('item', values);
/** STS and CloudFormation lists: `<Outputs><member>…</member></Outputs>`. */
export const members = (values: readonly XmlValue[]): XmlList => new XmlList('member', values);

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
}

function write(out: string[], name: string, value: XmlValue): void {
  if (value === null || value === undefined) return;
  if (value instanceof XmlList) {
    out.push(`<${name}>`);
    for (const item of value.values) write(out, value.itemElement, item);
    out.push(`</${name}>`);
    return;
  }
  if (value instanceof Date) {
    out.push(`<${name}>${value.toISOString()}</${name}>`);
    return;
  }
  if (typeof value === 'object') {
    out.push(`<${name}>`);
    writeMembers(out, value);
    out.push(`</${name}>`);
    return;
  }
  out.push(`<${name}>${escapeXml(String(value))}</${name}>`);
}

function writeMembers(out: string[], object: XmlObject): void {
  for (const [key, value] of Object.entries(object)) write(out, key, value);
}

/** `<?xml …?><Root xmlns="…">members</Root>` */
export function xmlDocument(root: string, body: XmlObject, xmlns?: string): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<${root}${xmlns ? ` xmlns="${xmlns}"` : ''}>`];
  writeMembers(out, body);
  out.push(`</${root}>`);
  return out.join('');
}
