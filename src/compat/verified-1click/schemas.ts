import { MAX_REQUESTS } from '../../one-click/credential-requests.ts';

/**
 * Request and response shapes of Verified's 1-Click API v2.0 (docs.verified.inc/v2.0),
 * as JSON Schema: Fastify validates with them and /openapi.json is generated from them.
 * Fields are as lenient as Verified's own (unknown fields are ignored, `null` and "" mean
 * "not given"); what they mean is checked by the core, which answers in OCE codes.
 */
const CREDENTIAL_TYPE = { type: 'string', pattern: '^[A-Z][A-Za-z0-9]{0,60}Credential$', description: 'PascalCase credential type, e.g. FullNameCredential' };
const MANDATORY = { type: 'string', enum: ['yes', 'no', 'if_available'], description: 'yes: fail with OCE007 (no data) when missing; if_available: required on the Hosted form; no: optional' };

const childRequest = {
  type: 'object',
  required: ['type'],
  properties: {
    type: CREDENTIAL_TYPE,
    mandatory: MANDATORY,
    description: { type: 'string', maxLength: 200 },
    allowUserInput: { type: 'boolean' },
    multi: { type: 'boolean', description: 'Ignored on children' },
  },
};

export const credentialRequest = {
  type: 'object',
  required: ['type'],
  description: 'CredentialRequest: which credential to return, and how',
  properties: {
    ...childRequest.properties,
    multi: { type: 'boolean', description: 'Return up to 3 values, always as an array' },
    children: { type: 'array', minItems: 1, maxItems: 10, items: childRequest },
  },
};

const optionalText = (maxLength: number, description: string) => ({ type: ['string', 'null'], maxLength, description });

export const postBody = {
  type: 'object',
  properties: {
    phone: optionalText(32, 'E.164, US only (+1)'),
    email: optionalText(320, "User's email address (returned as self_attested)"),
    birthDate: optionalText(32, "YYYY-MM-DD, or Unix milliseconds as a string (either, whatever the brand's birth_date_format)"),
    ssn4: optionalText(16, 'Last 4 digits of the SSN'),
    credentialRequests: { type: 'array', maxItems: MAX_REQUESTS, items: credentialRequest, description: 'Absent or empty: the brand\'s default credential requests' },
    content: {
      type: 'object',
      properties: {
        title: { type: 'string', enum: ['Signup', 'Login', 'Verify', 'Apply'] },
        description: { type: 'string', maxLength: 200 },
      },
    },
    redirectUrl: { type: 'string', maxLength: 2048, description: 'Hosted: overrides the default redirect URL' },
  },
};

export const uuidParams = {
  type: 'object',
  required: ['uuid'],
  properties: { uuid: { type: 'string', maxLength: 64, description: 'uuid from POST /1-click, or identityUuid from the Hosted redirect' } },
};

export const getQuery = {
  type: 'object',
  properties: { code: { type: 'string', maxLength: 32, description: 'Semi-Hosted: the code the person typed' } },
};

export const patchBody = {
  type: 'object',
  properties: {
    birthDate: optionalText(32, "YYYY-MM-DD, or Unix milliseconds as a string (either, whatever the brand's birth_date_format)"),
    ssn4: optionalText(16, 'Last 4 digits of the SSN'),
  },
};

const riskSignals = {
  type: 'object',
  additionalProperties: true,
  properties: {
    overall: {
      type: 'object',
      properties: {
        score: { type: 'integer' },
        level: { type: 'string' },
        recommendation: { type: 'string' },
        reasonCodes: { type: 'array', items: { type: 'string' } },
      },
    },
  },
};

/** Credential values and their metadata: strings, objects or arrays of them, per request. */
const credentialTree = { type: 'object', additionalProperties: true };

export const oneClickEntity = {
  type: 'object',
  required: ['identifiers', 'credentials', 'metadata'],
  description: '1ClickEntity',
  properties: {
    identifiers: { type: 'object', required: ['phone'], properties: { phone: { type: 'string' }, email: { type: 'string' } } },
    credentials: credentialTree,
    metadata: {
      type: 'object',
      properties: {
        identifiers: {
          type: 'object',
          properties: {
            verificationMethod: { type: 'object', additionalProperties: { type: 'string' } },
            riskSignals,
          },
        },
        credentials: {
          type: 'object',
          properties: { id: credentialTree, verificationMethod: credentialTree, status: credentialTree, expirationDate: credentialTree },
        },
      },
    },
  },
};

/** POST answers by integration type: Hosted {uuid,url,code}; Semi-Hosted {uuid,code}; Non-Hosted {uuid,identity}. */
export const postResponse = {
  type: 'object',
  required: ['uuid'],
  properties: {
    uuid: { type: 'string', format: 'uuid' },
    url: { type: 'string', description: 'Hosted: the wallet page to send the person to' },
    code: { type: 'string', description: 'Hosted and Semi-Hosted: the 6-digit code to text the person' },
    identity: oneClickEntity,
  },
};

/** Verified's (Feathers) error body. */
export const errorBody = {
  type: 'object',
  required: ['name', 'message', 'code', 'className', 'data'],
  properties: {
    name: { type: 'string' },
    message: { type: 'string' },
    code: { type: 'integer' },
    className: { type: 'string' },
    data: {
      type: 'object',
      required: ['errorCode'],
      properties: {
        errorCode: { type: 'string' },
        additionalInputs: { type: 'array', items: { type: 'string' } },
        inputAttemptsExceeded: { type: 'array', items: { type: 'string' } },
        riskSignals,
      },
    },
  },
};

/** The firewall's body (418 for a key used from a browser). */
export const firewallBody = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' } },
};

export const errorResponses = {
  400: errorBody,
  401: errorBody,
  403: errorBody,
  404: errorBody,
  409: errorBody,
  410: errorBody,
  418: firewallBody,
  429: errorBody,
  500: errorBody,
};
