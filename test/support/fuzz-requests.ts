import fc from 'fast-check';

/**
 * Generators of HTTP requests for the fuzz test (test/fuzz.test.ts): from a route's JSON
 * Schema, values that are valid, on a boundary, of the wrong type or hostile (NUL, unpaired
 * surrogates, huge, named after Object.prototype), sent with the right, a wrong or a broken
 * encoding (bad JSON, bad multipart, odd content types), on paths that are right, odd or
 * do not decode.
 */

export interface JsonSchema {
  type?: string | string[];
  enum?: readonly unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  properties?: Record<string, JsonSchema>;
  required?: readonly string[];
  items?: JsonSchema;
  maxItems?: number;
}

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE' | 'HEAD' | 'OPTIONS';

/** One route to fuzz: what it takes, and the header sets (credentials) callers send it. */
export interface Target {
  method: Method;
  /** With `{name}` placeholders for path parameters. */
  path: string;
  params?: Record<string, JsonSchema>;
  query?: Record<string, JsonSchema>;
  body?: JsonSchema;
  /** Header sets to choose from: with and without credentials. */
  credentials: readonly Record<string, string>[];
  /** Turns a request into a correctly signed one, where the route checks signatures. */
  sign?: (request: FuzzRequest) => FuzzRequest;
}

export interface FuzzRequest {
  method: Method;
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

/** Values that work, by parameter or field name: real ids, keys and tokens from the test's setup. */
export type Known = Readonly<Record<string, readonly string[]>>;

const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__'];

/** Strings that have broken something, somewhere. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '', ' ', '\0', 'a\0b', '\ud800', 'x\udfffy', '\udc00\ud800', '%00', '%zz', '%', '../../etc/passwd', '<script>alert(1)</script>',
    '"\'`', '\r\nX-Injected: 1', 'ǅ𝔘ñ\u202e', '{"a":1}', '[]', 'null', 'true', '-1', '1e309', '9'.repeat(40), ' \t\n',
    'ConstructorCredential', 'ToStringCredential', 'ValueOfCredential', '+1', '+10000000000', '0000-00-00', '2026-02-30', 'Bearer', 'Basic Og==',
    ...PROTOTYPE_NAMES,
  ),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom('\0', '\ud800', '\udfff'), fc.string({ maxLength: 8 })).map(([a, bad, b]) => a + bad + b),
  fc.integer({ min: 5_000, max: 80_000 }).map((n) => 'x'.repeat(n)),
);

const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.constant({}),
  fc.dictionary(fc.constantFrom('a', ...PROTOTYPE_NAMES), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
);

const typesOf = (schema: JsonSchema): string[] => (Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : []);

/** A value the schema accepts (or nearly: patterns are matched, formats not). */
function validValue(schema: JsonSchema, known: Known, depth: number): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.const !== undefined) return fc.constant(schema.const);
  const options: fc.Arbitrary<unknown>[] = [];
  for (const type of typesOf(schema)) {
    if (type === 'string') {
      options.push(schema.pattern ? fc.stringMatching(new RegExp(schema.pattern)) : fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) }));
    } else if (type === 'integer' || type === 'number') options.push(fc.integer({ min: -10, max: 100_000 }));
    else if (type === 'boolean') options.push(fc.boolean());
    else if (type === 'null') options.push(fc.constant(null));
    else if (type === 'array') options.push(depth > 3 ? fc.constant([]) : fc.array(value(schema.items ?? {}, '', known, depth + 1, true), { maxLength: Math.min(schema.maxItems ?? 3, 3) }));
    else if (type === 'object') options.push(objectValue(schema, known, depth + 1, true));
  }
  if (!options.length) return schema.properties ? objectValue(schema, known, depth + 1, true) : fc.oneof(fc.string({ maxLength: 10 }), fc.integer());
  return fc.oneof(...options);
}

/** On or just past the schema's edges. */
function boundaryValue(schema: JsonSchema): fc.Arbitrary<unknown> {
  const max = schema.maxLength;
  return fc.constantFrom('', 'x'.repeat(schema.minLength ?? 1), ...(max ? ['x'.repeat(max), 'x'.repeat(max + 1), 'é'.repeat(max)] : []));
}

/**
 * A value for a field or parameter named `name`: known, valid, on a boundary, of the wrong
 * type or hostile. A `clean` value is only known or valid, to get past the first checks.
 */
export function value(schema: JsonSchema, name: string, known: Known, depth = 0, clean = false): fc.Arbitrary<unknown> {
  const knownValues = known[name] ?? [];
  const bent = clean ? 0 : 1;
  return fc.oneof(
    { weight: knownValues.length ? 4 : 0, arbitrary: knownValues.length ? fc.constantFrom(...knownValues) : fc.constant('') },
    { weight: 3, arbitrary: validValue(schema, known, depth) },
    { weight: bent, arbitrary: boundaryValue(schema) },
    { weight: bent, arbitrary: wrongType },
    { weight: 2 * bent, arbitrary: hostileString },
  );
}

/** An object with some of the schema's properties (the required ones mostly) and sometimes extra keys. */
export function objectValue(schema: JsonSchema, known: Known, depth = 0, clean = false): fc.Arbitrary<Record<string, unknown>> {
  const required = new Set(schema.required ?? []);
  const properties = Object.entries(schema.properties ?? {});
  const present = properties.map(([name, s]) => fc.option(value(s, name, known, depth, clean), { nil: undefined, freq: required.has(name) ? 12 : 2 }));
  const extra = fc.array(fc.tuple(fc.constantFrom('extra', 'a\0b', '\ud800', ...PROTOTYPE_NAMES), fc.oneof(hostileString, wrongType)), { maxLength: 2 });
  return fc.tuple(fc.tuple(...present), fc.oneof({ weight: 5, arbitrary: fc.constant([]) }, { weight: clean ? 0 : 1, arbitrary: extra })).map(([values, extras]) =>
    // fromEntries defines own properties, so `__proto__` is sent as a key, as an attacker would.
    Object.fromEntries([...properties.flatMap(([name], i) => (values[i] === undefined ? [] : [[name, values[i]]])), ...extras]),
  );
}

/** Percent-encodes any string, unpaired surrogates too (as WTF-8 bytes), which encodeURIComponent refuses. */
export function percentEncode(text: string): string {
  let out = '';
  for (const unit of text.split(/(?=[\s\S])/u)) {
    const code = unit.codePointAt(0)!;
    if (unit.length === 1 && code >= 0xd800 && code <= 0xdfff) {
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else out += encodeURIComponent(unit);
  }
  return out;
}

const asText = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));

function formOf(fields: Record<string, unknown>): string {
  return Object.entries(fields).map(([k, v]) => `${percentEncode(k)}=${percentEncode(asText(v))}`).join('&');
}

function multipartOf(fields: Record<string, unknown>, boundary: string, file?: { name: string; bytes: string }): string {
  const parts = Object.entries(fields).map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${asText(v)}\r\n`);
  if (file) parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n${file.bytes}\r\n`);
  return `${parts.join('')}--${boundary}--\r\n`;
}

interface Body {
  type?: string;
  payload?: string;
}

/** The body in each encoding some route takes: JSON, a form, a multipart form (with a file or not). */
function wellEncoded(fields: Record<string, unknown>): fc.Arbitrary<Body> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.constant({ type: 'application/json', payload: JSON.stringify(fields) }) },
    { weight: 3, arbitrary: fc.constant({ type: 'application/x-www-form-urlencoded', payload: formOf(fields) }) },
    { weight: 2, arbitrary: fc.constantFrom('images', 'face', 'front', 'none').map((file) => ({ type: 'multipart/form-data; boundary=XyZ', payload: multipartOf(fields, 'XyZ', file === 'none' ? undefined : { name: file, bytes: '\x89PNG\r\n\x1a\n\0\0' }) })) },
  );
}

/** The body in a right, a wrong or a broken encoding. */
function bodyOf(fields: Record<string, unknown>): fc.Arbitrary<Body> {
  const json = JSON.stringify(fields);
  return fc.oneof(
    { weight: 10, arbitrary: wellEncoded(fields) },
    {
      weight: 2,
      arbitrary: fc.constantFrom<Body>(
        { type: 'application/json', payload: json.slice(0, Math.max(1, json.length - 2)) },
        { type: 'application/json', payload: `${json}}` },
        { type: 'application/json', payload: '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}' },
        { type: 'application/json', payload: '' },
        { type: 'application/json', payload: 'null' },
        { type: 'application/json', payload: '[1,2]' },
        { type: 'application/json', payload: '"text"' },
        { type: 'application/json', payload: `[${'['.repeat(2000)}` },
        { type: 'multipart/form-data', payload: formOf(fields) },
        { type: 'multipart/form-data; boundary=XyZ', payload: multipartOf(fields, 'XyZ').slice(0, -12) },
        { type: 'multipart/form-data; boundary=XyZ', payload: multipartOf({ __proto__x: 1, ...fields }, 'XyZ').replace('__proto__x', '__proto__') },
        { type: 'multipart/form-data; boundary=XyZ', payload: '--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--\r\n' },
        { type: 'text/plain', payload: json },
        { type: 'application/xml', payload: '<a>1</a>' },
        { type: 'application/json; charset=utf-16', payload: json },
        { type: 'application/x-www-form-urlencoded', payload: '%zz=%E0%A4%A&&=&a=%00' },
        { type: 'application/x-www-form-urlencoded', payload: `${formOf(fields)}&${formOf(fields)}` },
        { type: 'a/b/c', payload: 'x' },
        { type: undefined, payload: json },
        { type: 'application/json', payload: JSON.stringify({ pad: 'x'.repeat(70_000) }) },
      ),
    },
    { weight: 1, arbitrary: fc.constant({}) },
  );
}

function pathWith(template: string, params: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => percentEncode(asText(params[name])));
}

/** A path with its parameters, sometimes bent: undecodable, doubled slashes, too long, another case. */
function pathOf(template: string, params: Record<string, unknown>): fc.Arbitrary<string> {
  const path = pathWith(template, params);
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(path) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        `${path}/`,
        `${path}/%zz`,
        `${path}%E0%A4%A`,
        `${path}/..%2F..%2F`,
        `/${path}`,
        path.replace(/\/([^/]*)$/, '//$1'),
        `${path}/${'a'.repeat(300)}`,
        path.toUpperCase(),
        `${path}%00`,
        `${path}/%F0%9F%92%A9`,
      ),
    },
  );
}

function queryOf(query: Record<string, unknown>): fc.Arbitrary<string> {
  const plain = formOf(query);
  return fc.constantFrom(plain, plain, plain, `${plain}&${plain}`, `${plain}&%zz=%E0%A4%A`, `${plain}&__proto__[x]=1&constructor=1`);
}

const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({}) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Record<string, string>>(
      { accept: 'text/html' },
      { accept: 'application/json' },
      { origin: 'https://evil.example' },
      { 'x-request-id': 'short' },
      { 'x-request-id': 'a'.repeat(200) },
      { cookie: '_interaction=x; idflow_1click=%00; idflow_wkyc=\u00ff' },
      { authorization: 'Bearer \u00ff\u00fe' },
      { authorization: 'Basic %%%' },
      { dpop: 'not.a.jwt' },
      { 'x-forwarded-for': '1.2.3.4, 5.6.7.8', 'x-forwarded-host': 'evil.example' },
      { host: 'evil.example' },
    ),
  },
);

const OTHER_METHODS: readonly Method[] = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'HEAD', 'OPTIONS'];

/**
 * A request to the target: one in three as the route expects it (known and valid values,
 * a right encoding) to reach what lies past the first checks; the others bent somewhere.
 */
export function requestTo(target: Target, known: Known): fc.Arbitrary<FuzzRequest> {
  return fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 2, arbitrary: fc.constant(false) }).chain((clean) => request(target, known, clean));
}

function request(target: Target, known: Known, clean: boolean): fc.Arbitrary<FuzzRequest> {
  const params = objectValue({ properties: target.params ?? {}, required: Object.keys(target.params ?? {}) }, known, 0, clean);
  const query = objectValue({ properties: target.query ?? {} }, known, 0, clean);
  const takesBody = target.method !== 'GET' && target.method !== 'HEAD';
  const fields = target.body ? objectValue(target.body, known, 0, clean) : fc.constant({});
  const body = fields.chain((f) => (clean ? (takesBody ? wellEncoded(f) : fc.constant<Body>({})) : takesBody ? bodyOf(f) : fc.oneof({ weight: 9, arbitrary: fc.constant<Body>({}) }, { weight: 1, arbitrary: bodyOf(f) })));
  const method = fc.oneof({ weight: 12, arbitrary: fc.constant(target.method) }, { weight: clean ? 0 : 1, arbitrary: fc.constantFrom(...OTHER_METHODS) });
  return fc
    .record({
      method,
      path: params.chain((p) => (clean ? fc.constant(pathWith(target.path, p)) : pathOf(target.path, p))),
      query: target.query ? query.chain((q) => (clean ? fc.constant(formOf(q)) : queryOf(q))) : fc.constantFrom(...(clean ? [''] : ['', '', '', '%zz=1'])),
      body,
      credentials: fc.constantFrom(...target.credentials),
      extra: clean ? fc.constant({}) : extraHeaders,
      signed: fc.boolean(),
    })
    .map(({ method: m, path, query: q, body: b, credentials, extra, signed }) => {
      const request: FuzzRequest = {
        method: m,
        url: q ? `${path}?${q}` : path,
        headers: { ...credentials, ...extra, ...(b.type ? { 'content-type': b.type } : {}) },
        ...(b.payload !== undefined && m !== 'GET' && m !== 'HEAD' ? { payload: b.payload } : {}),
      };
      return signed && target.sign ? target.sign(request) : request;
    });
}
