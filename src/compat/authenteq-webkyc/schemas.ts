/**
 * Request and response schemas of the Web KYC door, in Authenteq's names. They validate at
 * the edge and feed /openapi.json (tag `authenteq-webkyc`).
 */

export const TAG = 'authenteq-webkyc';

export const authorizeQuery = {
  type: 'object',
  properties: {
    response_type: { type: 'string', description: 'Must be `code`', examples: ['code'] },
    client_id: { type: 'string', description: 'The client id idflow gave the operator' },
    redirect_uri: { type: 'string', description: 'Exactly one of the redirect URIs registered for the client (https)' },
    scope: { type: 'string', description: 'Must be `kyc` (the default when absent)', examples: ['kyc'] },
    state: { type: 'string', description: 'Required; returned unchanged with the code or the error' },
    back_url: { type: 'string', description: 'Optional https URL for the "Back to …" link on the verification pages (`back` is accepted too)' },
  },
} as const;

export const htmlPage = { type: 'string', description: 'An HTML page' } as const;

export const tokenBody = {
  type: 'object',
  required: ['grantType', 'code', 'redirectUri', 'clientId', 'clientSecret'],
  properties: {
    // The seed's curl example sends `authorization_code`, its prose `authorizationCode`: both are accepted.
    grantType: { type: 'string', enum: ['authorization_code', 'authorizationCode'] },
    code: { type: 'string', minLength: 1, maxLength: 256 },
    redirectUri: { type: 'string', minLength: 1, maxLength: 2048 },
    clientId: { type: 'string', minLength: 1, maxLength: 128 },
    clientSecret: { type: 'string', minLength: 1, maxLength: 256 },
  },
} as const;

export interface TokenBody {
  grantType: 'authorization_code' | 'authorizationCode';
  code: string;
  redirectUri: string;
  clientId: string;
  clientSecret: string;
}

export const tokenResponse = {
  type: 'object',
  required: ['token'],
  additionalProperties: false,
  properties: { token: { type: 'string', description: 'Bearer token for /v2/web-kyc/details; lives 15 minutes, cannot be refreshed' } },
} as const;

const nullableString = { type: ['string', 'null'] } as const;

export const detailsResponse = {
  type: 'object',
  required: ['croppedDocs', 'details'],
  additionalProperties: false,
  properties: {
    croppedDocs: {
      type: 'object',
      required: ['front', 'back'],
      additionalProperties: false,
      properties: {
        front: { type: 'string', description: 'The document front, base64 JPEG (a PNG capture is converted)' },
        back: { ...nullableString, description: 'The document back, base64 JPEG; null when none was captured' },
      },
    },
    details: {
      type: 'object',
      required: ['documentNumber', 'issuingCountry', 'documentType', 'givenNames', 'surname', 'dateOfBirth', 'nationality', 'dateOfIssue', 'dateOfExpiry', 'sex'],
      additionalProperties: false,
      properties: {
        documentNumber: { type: 'string' },
        issuingCountry: { type: 'string', description: 'ISO 3166-1 alpha-3, as in the MRZ' },
        documentType: { type: 'string', enum: ['PP', 'NID', 'DL', 'RP', 'OTHER'], description: 'PP passport, NID national identity card, DL driving licence, RP residence permit, OTHER' },
        givenNames: { type: 'string' },
        surname: { type: 'string' },
        dateOfBirth: { type: 'string', description: 'yyyy-mm-dd' },
        nationality: { ...nullableString, description: 'ISO 3166-1 alpha-3' },
        dateOfIssue: { ...nullableString, description: 'yyyy-mm-dd; null when the document does not show it' },
        dateOfExpiry: { type: 'string', description: 'yyyy-mm-dd' },
        sex: { type: ['string', 'null'], enum: ['F', 'M', 'X', null] },
      },
    },
  },
} as const;

export const errorResponse = {
  type: 'object',
  required: ['errorCode', 'errorMessage'],
  additionalProperties: false,
  properties: { errorCode: { type: 'string' }, errorMessage: { type: 'string' } },
} as const;

export const bearerHeaders = {
  type: 'object',
  properties: { authorization: { type: 'string', description: '`Bearer <token>` from /v2/web-kyc/token' } },
} as const;
