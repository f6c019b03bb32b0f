import type { WebKycDetails } from '../../kyc/web-kyc.ts';
import type { DocumentData } from '../../verification/types.ts';
import { asJpeg } from './jpeg.ts';

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
export function toAuthenteqDetails({ document: d, images }: WebKycDetails) {
  return {
    croppedDocs: {
      front: images.documentFront ? asJpeg(images.documentFront).toString('base64') : '',
      back: images.documentBack ? asJpeg(images.documentBack).toString('base64') : null,
    },
    details: {
      documentNumber: d.documentNumber,
      issuingCountry: d.issuingCountry,
      documentType: DOCUMENT_TYPES[d.documentType] ?? 'OTHER',
      givenNames: d.givenNames,
      surname: d.surname,
      dateOfBirth: d.dateOfBirth,
      nationality: d.nationality ?? null,
      dateOfIssue: d.dateOfIssue ?? null,
      dateOfExpiry: d.dateOfExpiry,
      sex: d.sex ?? null,
    },
  };
}
