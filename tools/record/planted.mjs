// The synthetic PII planted in tools/record/pages/*.html and typed by record.mjs.
// Every value is unique and greppable (most contain "planted" or distinctive digits).
// record.mjs keeps in planted.json only the values that really occur in a raw fixture.

export const URLS = {
  signup: '/signup?email=jane.url.planted@example.com&token=plantedtok_5f3a9c1e7b&ref=campaign42',
  checkout: '/checkout?step=2&cart=cart_8812&utm_source=newsletter',
  account: '/account/profile?tab=overview&session=sess_planted_a1b2c3d4',
  large: '/admin/catalog?page=1&sort=sku&view=table',
};

// What the scenarios type (one source of truth for record.mjs and the planted list).
export const TYPED = {
  signup: {
    full_name: 'Jane Plantedsson',
    email: 'jane.planted+signup@example.com',
    phone: '+1 415 555 0142',
    password: 'Pl4nted!Secret#2024',
    dob: '1987-03-19',
    country: 'NZ',
    bio: 'Hiker from Wellington. Write to jane.bio.planted@example.org or call +64 21 555 0199 after 6pm.',
  },
  checkout: {
    cc_number: '4000 1234 5678 9017',
    cc_exp: '07/29',
    cc_csc: '913',
    iban: 'DE24 3704 0044 0532 0771 23',
    billing_name: 'Marta Plantedova',
    billing_street: 'Plantedgasse 17/4',
    billing_zip: '1010',
    billing_city: 'Wien',
  },
  account: {
    sl_note: 'plantednote-internal-3390',
    ignored_input: 'COUPON-PLANTED-IGNORED',
    work_email: 'oskar.work.planted@example.com',
    mobile: '+43 676 555 0123',
    alt_email: 'oskar.alt.planted@example.org',
  },
  large: {
    q: 'Hamm',
    admin_name: 'Lena Plantedhuber',
    admin_email: 'lena.admin.planted@example.com',
    admin_notes: 'Call supplier Plantedwerk at +49 30 5550 1234 about invoice.',
  },
};

const T = TYPED;
// kind, where (planted on which page), why. Values that rrweb already drops or masks on the
// client (rr-mask, rr-block, rr-ignore, type=password) are candidates too: record.mjs moves
// them to "client_side_only" when no raw fixture contains them.
export const CANDIDATES = [
  // signup
  { value: 'jane.url.planted@example.com', kind: 'email', page: 'signup', why: 'email in the page URL query (?email=), meta href' },
  { value: 'plantedtok_5f3a9c1e7b', kind: 'token', page: 'signup', why: 'secret token in the page URL query (?token=)' },
  { value: T.signup.full_name, kind: 'name', page: 'signup', why: 'typed into a text input (full name)' },
  { value: T.signup.email, kind: 'email', page: 'signup', why: 'typed into an email input' },
  { value: T.signup.phone, kind: 'phone', page: 'signup', why: 'typed into a tel input' },
  { value: T.signup.password, kind: 'password', page: 'signup', why: 'typed into type=password (rrweb masks it) and into a type=text confirm field with autocomplete=new-password and -webkit-text-security (rrweb does not)' },
  { value: T.signup.dob, kind: 'input', page: 'signup', why: 'date of birth in a type=date input' },
  { value: T.signup.bio, kind: 'input', page: 'signup', why: 'full textarea value (bio)' },
  { value: 'jane.bio.planted@example.org', kind: 'email', page: 'signup', why: 'email inside a textarea value' },
  { value: '+64 21 555 0199', kind: 'phone', page: 'signup', why: 'phone inside a textarea value' },
  // checkout
  { value: T.checkout.cc_number, kind: 'card', page: 'checkout', why: 'Luhn-valid card number typed with spaces (autocomplete=cc-number)' },
  { value: T.checkout.cc_exp, kind: 'input', page: 'checkout', why: 'card expiry typed into an input' },
  { value: T.checkout.iban, kind: 'iban', page: 'checkout', why: 'mod-97-valid IBAN typed with spaces' },
  { value: T.checkout.billing_name, kind: 'name', page: 'checkout', why: 'typed into the billing name input' },
  { value: T.checkout.billing_street, kind: 'address', page: 'checkout', why: 'typed into the billing street input' },
  { value: 'marta.planted.receipt@example.net', kind: 'email', page: 'checkout', why: 'plain text inserted by a later DOM mutation' },
  { value: '+43 660 918 2736', kind: 'phone', page: 'checkout', why: 'plain text inserted by a later DOM mutation' },
  { value: 'billing.planted@example.net', kind: 'email', page: 'checkout', why: 'later characterData change and a later title attribute change' },
  // account
  { value: 'sess_planted_a1b2c3d4', kind: 'token', page: 'account', why: 'session id in the page URL query and in an <a href> query' },
  { value: 'oskar.planted@example.com', kind: 'email', page: 'account', why: 'email in plain text' },
  { value: 'oskar.planted%40example.com', kind: 'email', page: 'account', why: 'percent-encoded email in an <a href> query (&email=)' },
  { value: '+420 603 918 274', kind: 'phone', page: 'account', why: 'phone in plain text' },
  { value: '203.0.113.77', kind: 'ipv4', page: 'account', why: 'IPv4 address in plain text' },
  { value: '2001:db8:85a3::8a2e:370:7334', kind: 'ipv6', page: 'account', why: 'IPv6 address in plain text' },
  { value: 'GB29 PLNT 6016 1331 9268 19', kind: 'iban', page: 'account', why: 'IBAN in plain text' },
  { value: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwbGFudGVkLXVzZXItNDQxMSIsImVtYWlsIjoib3NrYXIucGxhbnRlZEBleGFtcGxlLmNvbSIsImlhdCI6MTc2MzkwMDAwMH0.cGxhbnRlZC1zaWduYXR1cmUtYnl0ZXMtMDAwMQ', kind: 'jwt', page: 'account', why: 'JWT in a data-token attribute' },
  { value: 'Plantedpuff the Walrus', kind: 'masked_text', page: 'account', why: 'text inside class="rr-mask"' },
  { value: 'PLANTED-BLOCK-7781', kind: 'masked_text', page: 'account', why: 'text inside class="rr-block"' },
  { value: 'plantedsecret-maiden-Kowalski', kind: 'masked_text', page: 'account', why: 'text inside an element with data-recording-sensitive' },
  { value: 'plantedsecret-changed-Nowak', kind: 'masked_text', page: 'account', why: 'later characterData mutation of a text node inside data-recording-sensitive (only the node id links it to the marked element)' },
  { value: 'LOY-PLANTED-998877', kind: 'masked_text', page: 'account', why: 'later childList mutation adding a <span> inside class="smartlook-hide"' },
  { value: 'LOY-PLANTED-556677', kind: 'masked_text', page: 'account', why: 'text inside class="smartlook-hide"' },
  { value: T.account.sl_note, kind: 'input', page: 'account', why: 'typed into an input inside data-recording-ignore="mask"' },
  { value: T.account.ignored_input, kind: 'input', page: 'account', why: 'typed into an input with class="rr-ignore"' },
  { value: T.account.work_email, kind: 'email', page: 'account', why: 'typed into an email input inside a same-origin iframe' },
  { value: T.account.mobile, kind: 'phone', page: 'account', why: 'typed into a tel input inside a same-origin iframe' },
  { value: 'frame.text.planted@example.com', kind: 'email', page: 'account', why: 'plain text inside a same-origin iframe' },
  { value: 'shadow.text.planted@example.org', kind: 'email', page: 'account', why: 'plain text inside an open shadow root' },
  { value: T.account.alt_email, kind: 'email', page: 'account', why: 'typed into an input inside an open shadow root' },
  { value: 'Signed: canvas.planted@example.com', kind: 'canvas', page: 'account', why: 'fillText() argument in a canvas mutation (recordCanvas)' },
  // large
  { value: 'buyer0001.planted@example.com', kind: 'email', page: 'large', why: 'email in a table cell and a mailto: href (one of 500)' },
  { value: 'buyer0250.planted@example.com', kind: 'email', page: 'large', why: 'email in a table cell and a mailto: href (one of 500)' },
  { value: 'buyer0500.planted@example.com', kind: 'email', page: 'large', why: 'email in a table cell and a mailto: href (one of 500)' },
  { value: T.large.admin_name, kind: 'name', page: 'large', why: 'typed into a text input' },
  { value: T.large.admin_email, kind: 'email', page: 'large', why: 'typed into an email input' },
  { value: T.large.admin_notes, kind: 'input', page: 'large', why: 'full textarea value' },
  { value: '+49 30 5550 1234', kind: 'phone', page: 'large', why: 'phone inside a textarea value' },
];

// Plain-text values that must SURVIVE a detector-based masking (emails/IPs/cards/IBANs/phones)
// when number masking is off. Under the privacy-first default (digit runs masked) they do not
// survive; see tests/fixtures/README.md.
export const NEAR_MISSES = [
  { value: 'ORD-2024-118842', kind: 'order_id' },
  { value: '2026-11-23', kind: 'date_iso' },
  { value: '23.11.2026', kind: 'date_eu' },
  { value: '$1,299.00', kind: 'price' },
  { value: '49,90 €', kind: 'price' },
  { value: 'v2.14.3', kind: 'version' },
  { value: '9876543210987654', kind: 'digits16_non_luhn' },
  { value: 'TRL-38-BLK-0921', kind: 'sku' },
  { value: '14:05', kind: 'time' },
  { value: '404', kind: 'http_status' },
  { value: '15%', kind: 'percentage' },
  { value: '87.5%', kind: 'percentage' },
];
