/**
 * A phone number for logs: enough to tell two numbers apart when reading an incident,
 * not enough to text the person. Every digit but the last two becomes `*`.
 */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  if (digits.length <= 2) return '*'.repeat(digits.length);
  return `${phone.startsWith('+') ? '+' : ''}${'*'.repeat(digits.length - 2)}${digits.slice(-2)}`;
}

/** Provider messages echo the number they refused; strip any long digit run before logging them. */
export function maskPhonesIn(text: string): string {
  return text.replace(/\+?\d[\d ()-]{5,}\d/g, (match) => maskPhone(match));
}
