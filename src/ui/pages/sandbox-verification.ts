import { html, trusted, type Html } from '../html.ts';
import { alert, page } from '../layout.ts';
import type { SampleDocument } from '../../verification/providers/sandbox/sample-documents.ts';
import { sandboxPath } from '../../verification/providers/sandbox/provider.ts';
import { TEST_IMAGES, type TestImage } from '../../verification/providers/sandbox/test-images.ts';

/**
 * The sandbox's hosted steps, in the shared look. Every step is a plain form (no script):
 * a file input that opens the camera on a phone, or a ready-made test image to pick.
 */

// File inputs, choices and the MRZ box are not in the shared sheet; CSP allows inline styles.
const EXTRA_STYLES = trusted(`<style>
input[type=file]{display:block;width:100%;padding:10px;border:1px dashed var(--line);border-radius:8px;background:#fafbfe;font:inherit}
textarea{width:100%;padding:12px;border:1px solid var(--line);border-radius:8px;font:15px/1.4 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.04em;text-transform:uppercase}
textarea:focus{outline:3px solid #93b4ff;outline-offset:2px}
fieldset{border:1px solid var(--line);border-radius:8px;margin:16px 0 0;padding:8px 12px 12px}
legend{font-weight:600;padding:0 4px}
label.choice{display:flex;align-items:center;gap:10px;font-weight:400;margin:10px 0 0}
label.choice img{width:60px;height:40px;border-radius:4px;border:1px solid var(--line)}
ol.steps{display:flex;gap:8px;list-style:none;padding:0;margin:0 0 16px;font-size:.85rem;color:var(--muted)}
ol.steps li[aria-current=step]{color:var(--ink);font-weight:600}
.row{display:grid;grid-template-columns:1fr 1fr;gap:0 12px}
details{margin-top:16px}summary{cursor:pointer;color:var(--brand)}
pre.mrz{font:13px/1.4 ui-monospace,Menlo,Consolas,monospace;overflow-x:auto;background:#f4f6fb;padding:8px;border-radius:6px}
@media (max-width:480px){.row{grid-template-columns:1fr}}
</style>`);

const STEPS = [
  ['liveness', 'Your face'],
  ['document', 'Your document'],
  ['face-match', 'Face match'],
] as const;

function progress(current: (typeof STEPS)[number][0]): Html {
  return html`<ol class="steps" aria-label="Progress">${STEPS.map(
    ([step, label], i) => html`<li${step === current ? trusted(' aria-current="step"') : ''}>${i + 1}. ${label}</li>`,
  )}</ol>`;
}

function testImageChoices(name: string, images: readonly TestImage[], legend: string, checked?: string): Html {
  return html`<fieldset>
  <legend>${legend}</legend>
  ${images.map(
    (image) => html`<label class="choice"><input type="radio" name="${name}" value="${image.name}"${image.name === checked ? trusted(' checked') : ''}>
    <img src="/verification/sandbox/test-images/${image.name}.png" alt=""> ${image.label}</label>`,
  )}
</fieldset>`;
}

function cancelForm(id: string, csrf: string): Html {
  return html`<form method="post" action="${sandboxPath(id, 'cancel')}">
  <input type="hidden" name="csrf" value="${csrf}">
  <button type="submit" class="secondary">Cancel verification</button>
</form>`;
}

const CONTEXT = 'Identity verification · sandbox';

export function livenessPage(input: { id: string; csrf: string; error?: string | undefined }): string {
  return page({
    title: 'Take a photo of your face',
    context: CONTEXT,
    body: html`${EXTRA_STYLES}${progress('liveness')}
<p class="muted">Look straight at the camera in good light. We check that the photo is of a live person.</p>
${alert(input.error)}
<form method="post" action="${sandboxPath(input.id, 'liveness')}" enctype="multipart/form-data">
  <input type="hidden" name="csrf" value="${input.csrf}">
  <label for="face">Your face <span class="hint">Opens the front camera on a phone. JPEG or PNG, up to 5 MB.</span></label>
  <input id="face" name="face" type="file" accept="image/jpeg,image/png" capture="user"${input.error ? trusted(' aria-describedby="form-error"') : ''}>
  ${testImageChoices('testImage', TEST_IMAGES.filter((i) => i.use === 'face'), 'Or use a test image')}
  <button type="submit">Continue</button>
</form>
${cancelForm(input.id, input.csrf)}`,
  });
}

export interface DocumentFormValues {
  mrz?: string;
  surname?: string;
  givenNames?: string;
  documentNumber?: string;
  dateOfBirth?: string;
  dateOfExpiry?: string;
  dateOfIssue?: string;
  nationality?: string;
  sex?: string;
}

function field(name: keyof DocumentFormValues, label: string, values: DocumentFormValues, attrs: Html | string = ''): Html {
  return html`<div><label for="${name}">${label}</label><input id="${name}" name="${name}" value="${values[name] ?? ''}" ${attrs}></div>`;
}

export function documentPage(input: { id: string; csrf: string; samples: SampleDocument[]; error?: string | undefined; values?: DocumentFormValues }): string {
  const values = input.values ?? {};
  return page({
    title: 'Your identity document',
    context: CONTEXT,
    body: html`${EXTRA_STYLES}${progress('document')}
<p class="muted">Photograph both sides of your passport or identity card, then type what it says. We check the machine-readable zone and compare it with the rest of the document.</p>
${alert(input.error)}
<form method="post" action="${sandboxPath(input.id, 'document')}" enctype="multipart/form-data">
  <input type="hidden" name="csrf" value="${input.csrf}">
  <label for="front">Front of the document <span class="hint">JPEG or PNG, up to 5 MB.</span></label>
  <input id="front" name="front" type="file" accept="image/jpeg,image/png" capture="environment">
  <label for="back">Back of the document</label>
  <input id="back" name="back" type="file" accept="image/jpeg,image/png" capture="environment">
  ${testImageChoices('testImages', TEST_IMAGES.filter((i) => i.use === 'document' && i.name !== 'document-back'), 'Or use test images for both sides')}
  <label for="mrz">Machine-readable zone <span class="hint">The two or three lines of letters, digits and &lt; at the bottom, one per line.</span></label>
  <textarea id="mrz" name="mrz" rows="3" wrap="off" maxlength="200" spellcheck="false" autocomplete="off" autocapitalize="characters">${values.mrz ?? ''}</textarea>
  <div class="row">
    ${field('surname', 'Surname', values, trusted('autocomplete="off"'))}
    ${field('givenNames', 'Given names', values, trusted('autocomplete="off"'))}
    ${field('documentNumber', 'Document number', values, trusted('autocomplete="off" autocapitalize="characters"'))}
    ${field('dateOfBirth', 'Date of birth', values, trusted('type="date"'))}
    ${field('dateOfExpiry', 'Date of expiry', values, trusted('type="date"'))}
    ${field('dateOfIssue', 'Date of issue (optional)', values, trusted('type="date"'))}
  </div>
  <fieldset>
    <legend>Or fill in a test passport</legend>
    ${input.samples.map((s) => html`<label class="choice"><input type="radio" name="sample" value="${s.name}"> ${s.label}</label>`)}
  </fieldset>
  <details>
    <summary>Test passports to type in</summary>
    ${input.samples.map(
      (s) => html`<p><strong>${s.label}</strong>: ${s.visual.surname}, ${s.visual.givenNames}, ${s.visual.documentNumber}, born ${s.visual.dateOfBirth}, expires ${s.visual.dateOfExpiry}</p>
    <pre class="mrz">${s.mrz.join('\n')}</pre>`,
    )}
  </details>
  <button type="submit">Continue</button>
</form>
${cancelForm(input.id, input.csrf)}`,
  });
}

export function faceMatchPage(input: { id: string; csrf: string }): string {
  return page({
    title: 'Check your face against your document',
    context: CONTEXT,
    body: html`${EXTRA_STYLES}${progress('face-match')}
<p>We compare the photo of your face with the portrait on your document. This is the last step.</p>
<form method="post" action="${sandboxPath(input.id, 'face-match')}">
  <input type="hidden" name="csrf" value="${input.csrf}">
  <button type="submit" autofocus>Compare and finish</button>
</form>
${cancelForm(input.id, input.csrf)}`,
  });
}
