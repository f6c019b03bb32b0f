import { documentDisclosure } from '../../identity/credential-mapping.ts';
import type { WebKycDetails } from '../../kyc/web-kyc.ts';
import type { DocumentData } from '../../verification/types.ts';

/**
 * Authenteq's document-type vocabulary. The seed's example value is a document number
 * pasted into the wrong field; Authenteq's own later API (Web IDV) names the types
 * PP, DL and NID, so this door does too, with RP and OTHER for what that list lacks.
 */
const DOCUMENT_TYPES: Record<DocumentData['documentType'], string> = {
  passport: 'PP',
  idcard: 'NID',
  driving_permit: 'DL',
  residence_permit: 'RP',
  other: 'OTHER',
};

/** The `/v2/web-kyc/details` body: exactly the seed's fields, nothing more. */
export function toAuthenteqDetails(input: WebKycDetails) {
  const { front, back } = croppedDocs(input);
  return { croppedDocs: { front: front?.toString('base64') ?? '', back: back?.toString('base64') ?? null }, details: detailsOf(input.document) };
}

/**
 * The same body as JSON bytes, byte for byte `JSON.stringify(toAuthenteqDetails(input))`.
 * The two images are ~100 KB of base64, which needs no JSON escaping: their bytes are
 * copied into the body as they are, where a string would be scanned for escapes and then
 * again for UTF-8, the largest cost of the whole request.
 */
export function authenteqDetailsJson(input: WebKycDetails): Buffer {
  const { front, back } = croppedDocs(input);
  const base64 = (image: Buffer) => Buffer.from(image.toString('base64'), 'latin1');
  return Buffer.concat([
    Buffer.from('{"croppedDocs":{"front":"'),
    ...(front ? [base64(front)] : []),
    Buffer.from(back ? '","back":"' : '","back":null'),
    ...(back ? [base64(back), Buffer.from('"')] : []),
    Buffer.from(`},"details":${JSON.stringify(detailsOf(input.document))}}`),
  ]);
}

/** The images as stored: already JPEGs (normalised at upload), so nothing is decoded here. */
function croppedDocs({ images }: WebKycDetails): { front: Buffer | undefined; back: Buffer | undefined } {
  return { front: images.documentFront, back: images.documentBack };
}

/** The core's document disclosure, its document type named in Authenteq's words. */
function detailsOf(d: DocumentData) {
  return { ...documentDisclosure(d), documentType: DOCUMENT_TYPES[d.documentType] ?? 'OTHER' };
}
