/** The shared stylesheet, inlined in each page (no extra request, CSP allows only this). */
export const STYLES = `
:root{--ink:#14213d;--muted:#5c6784;--line:#d5dae6;--brand:#1d4ed8;--brand-ink:#fff;--bg:#f4f6fb;--danger:#b42318;--danger-bg:#fef3f2;--radius:12px}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;justify-content:center;background:var(--bg);color:var(--ink);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;padding:16px}
.card{width:100%;max-width:420px;background:#fff;border:1px solid var(--line);border-radius:var(--radius);padding:28px 24px;box-shadow:0 8px 24px rgba(20,33,61,.06)}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 8px}
.context{margin:0 0 4px;color:var(--muted);font-size:.875rem;font-weight:600;text-transform:uppercase;letter-spacing:.04em}
p{margin:0 0 16px}
.muted{color:var(--muted)}
label{display:block;font-weight:600;margin:16px 0 6px}
.hint{display:block;font-weight:400;color:var(--muted);font-size:.875rem;margin-top:2px}
input[type=text],input[type=email],input[type=password],input[type=tel],input[type=date],input:not([type]),select{width:100%;padding:12px;border:1px solid var(--line);border-radius:8px;font:inherit;color:inherit;background:#fff}
input:focus,select:focus,button:focus,a:focus{outline:3px solid #93b4ff;outline-offset:2px}
input[aria-invalid=true]{border-color:var(--danger)}
button,.button{display:block;width:100%;margin-top:20px;padding:12px 16px;border:0;border-radius:8px;background:var(--brand);color:var(--brand-ink);font:inherit;font-weight:600;cursor:pointer;text-align:center;text-decoration:none}
button.secondary,.button.secondary{background:#fff;color:var(--ink);border:1px solid var(--line);margin-top:12px}
.alert{background:var(--danger-bg);color:var(--danger);border:1px solid #fecdca;border-radius:8px;padding:10px 12px;margin:12px 0}
ul.scopes{padding-left:20px;margin:8px 0 0}
ol.hand-overs{list-style:none;padding:0;margin:0}ol.hand-overs>li{border-top:1px solid var(--line);padding:4px 0 12px}ol.hand-overs .muted{margin:0;font-size:.875rem}
dl.data{margin:0}dl.data dt{font-weight:600;margin-top:12px}dl.data dd{margin:0}
.back{display:inline-block;margin-top:16px;color:var(--brand)}
.footer{margin-top:16px;color:var(--muted);font-size:.8rem}
h2{font-size:1.125rem;line-height:1.3;margin:16px 0 8px}
.lead{color:var(--muted);margin:0 0 8px}
.small{font-size:.875rem;margin-top:16px}
input.code{font-size:1.5rem;letter-spacing:.3em;text-align:center;font-variant-numeric:tabular-nums}
fieldset.group{border:1px solid var(--line);border-radius:8px;margin:16px 0 0;padding:0 12px 12px;min-width:0}
fieldset.group legend{font-weight:600;padding:0 4px}
dl.data dt label{margin:0}
dl.data dd{overflow-wrap:anywhere}
dl.data dd input{margin-top:4px}
.required{font-weight:400;color:var(--muted);font-size:.875rem}
.badge{display:inline-block;margin-left:6px;padding:0 8px;border-radius:999px;background:#ecfdf3;color:#067647;font-size:.75rem;font-weight:600;vertical-align:middle}
.field-error{display:block;color:var(--danger);font-size:.875rem;margin-top:4px}
@media (max-width:480px){.card{padding:20px 16px;border-radius:0;border-left:0;border-right:0}}
`;
