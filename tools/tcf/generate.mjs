// Generates TC strings with the IAB reference library (@iabtcf/core) and writes what that
// library decodes them to, so that tests/consent/tcf_crosscheck.rs can assert that
// veilgate's decoder agrees on every field.
//
//   /work/main/node_modules/.bin/node tools/tcf/generate.mjs [count] [seed]
//
// No network: the vendor lists (GVLs) are synthetic objects built here, and every consent
// language is pre-seeded into the GVL language cache so that changeLanguage() never fetches.
// Deterministic for a given count and seed.
//
// How @iabtcf/core picks a vendor encoding (VendorVectorEncoder.encode): it computes the
// bitfield length (16 + 1 + maxId) and builds range entries while walking the vector; it
// emits ranges only when maxId > 45 and the range encoding is still the shorter one at the
// end. So few long runs (or few vendors under a large maxId) give ranges; dense random
// sets and small maxIds give bitfields. The "shape" choices below exercise both.

import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GVL, TCModel, TCString, PurposeRestriction, Base64Url } from '@iabtcf/core';

const COUNT = Number(process.argv[2] ?? 600);
let seed = Number(process.argv[3] ?? 20261101) >>> 0;

// mulberry32
function rand() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = (xs) => xs[int(0, xs.length - 1)];
const chance = (p) => rand() < p;
const subset = (ids, p) => ids.filter(() => chance(p));
const range = (lo, hi) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

const LANGS = ['BG', 'CA', 'CS', 'DA', 'DE', 'EL', 'EN', 'ES', 'ET', 'FI', 'FR', 'HR', 'HU',
  'IT', 'JA', 'LT', 'LV', 'MT', 'NL', 'NO', 'PL', 'PT', 'RO', 'RU', 'SK', 'SL', 'SV', 'TR', 'ZH'];

const named = (ids, what) =>
  Object.fromEntries(ids.map((id) => [id, { id, name: `${what} ${id}`, description: '', illustrations: [] }]));
const PURPOSES = named(range(1, 11), 'Purpose');
const SPECIAL_PURPOSES = named(range(1, 3), 'Special purpose');
const FEATURES = named(range(1, 3), 'Feature');
const SPECIAL_FEATURES = named(range(1, 2), 'Special feature');

for (const lang of LANGS) {
  GVL.LANGUAGE_CACHE.set(lang, {
    purposes: PURPOSES, specialPurposes: SPECIAL_PURPOSES, features: FEATURES,
    specialFeatures: SPECIAL_FEATURES, stacks: {},
  });
}

// A synthetic vendor list: `n` vendor ids spread over 1..maxId.
function makeGvl(vendorListVersion, tcfPolicyVersion, maxId, density) {
  const vendors = {};
  for (let id = 1; id <= maxId; id++) {
    if (id !== maxId && !chance(density)) continue;
    const purposes = subset(range(1, 11), 0.5);
    const legIntPurposes = subset(range(2, 11).filter((p) => !purposes.includes(p)), 0.3);
    const flexiblePurposes = chance(0.4)
      ? [...purposes, ...legIntPurposes].filter((p) => p !== 1 && chance(0.5))
      : [];
    vendors[id] = {
      id, name: `Vendor ${id}`, purposes, legIntPurposes, flexiblePurposes,
      specialPurposes: chance(0.2) ? [1] : [], features: [], specialFeatures: [],
      policyUrl: `https://vendor${id}.example/privacy`,
    };
  }
  return new GVL({
    gvlSpecificationVersion: 3, vendorListVersion, tcfPolicyVersion,
    lastUpdated: '2026-01-01T00:00:00Z',
    purposes: PURPOSES, specialPurposes: SPECIAL_PURPOSES, features: FEATURES,
    specialFeatures: SPECIAL_FEATURES, stacks: {}, vendors,
  });
}

// A vendor id selection shaped to make the encoder pick one encoding or the other.
function vendorSelection(ids) {
  const shape = pick(['empty', 'all', 'dense', 'sparse', 'runs', 'runs', 'few']);
  switch (shape) {
    case 'empty': return [];
    case 'all': return ids;
    case 'dense': return subset(ids, 0.5 + rand() * 0.5);
    case 'sparse': return subset(ids, rand() * 0.1);
    case 'few': return subset(ids, 0.02).slice(0, int(1, 4));
    default: {
      // a few contiguous runs over the id space
      const out = new Set();
      const runs = int(1, 5);
      for (let r = 0; r < runs && ids.length; r++) {
        const start = int(0, ids.length - 1);
        const len = int(1, Math.max(1, Math.floor(ids.length / 3)));
        ids.slice(start, start + len).forEach((id) => out.add(id));
      }
      return [...out].sort((a, b) => a - b);
    }
  }
}

function idsOf(vector) {
  const out = [];
  vector.forEach((on, id) => { if (on) out.push(id); });
  return out;
}

function toRanges(ids) {
  const out = [];
  for (const id of [...ids].sort((a, b) => a - b)) {
    const last = out[out.length - 1];
    if (last && last[1] + 1 === id) last[1] = id;
    else out.push([id, id]);
  }
  return out;
}

const bitsToInt = (bits) => (bits.length ? parseInt(bits, 2) : 0);

// MaxVendorId and the encoding bit, read straight from the bits (the reference decoder's
// Vector keeps neither).
function vendorHeader(bits, offset) {
  return {
    maxId: bitsToInt(bits.substr(offset, 16)),
    encoding: bits.charAt(offset + 16) === '1' ? 'range' : 'bitfield',
  };
}

function vendorExpect(vector, bits, offset) {
  return { ...vendorHeader(bits, offset), ranges: toRanges(idsOf(vector)) };
}

const CORE_FIXED_BITS = 213;
const dateDs = (d) => Math.round(d.getTime() / 100);
const MIN_DS = dateDs(new Date('2019-06-01T00:00:00Z'));
const MAX_DS = dateDs(new Date('2031-12-31T23:59:59Z'));

const cases = [];
const stats = { consents: { bitfield: 0, range: 0 }, li: { bitfield: 0, range: 0 }, restrictions: 0, publisherTc: 0, disclosed: 0 };

for (let i = 0; i < COUNT; i++) {
  const maxVendor = pick([3, 10, 40, 46, 60, 120, 300, 300, 800, 1500]);
  const gvl = makeGvl(int(1, 4095), pick([2, 4, 4, 5]), maxVendor, pick([0.3, 0.7, 0.95, 1]));
  await gvl.changeLanguage(pick(LANGS));
  const gvlIds = Object.keys(gvl.vendors).map(Number).sort((a, b) => a - b);

  const tc = new TCModel(gvl);
  tc.cmpId = int(2, 4095);
  tc.cmpVersion = int(0, 4095);
  tc.consentScreen = int(0, 63);
  tc.publisherCountryCode = String.fromCharCode(65 + int(0, 25), 65 + int(0, 25));
  tc.isServiceSpecific = chance(0.4);
  tc.useNonStandardStacks = chance(0.2);
  tc.purposeOneTreatment = chance(0.15);
  const created = int(MIN_DS, MAX_DS);
  tc.created = new Date(created * 100);
  tc.lastUpdated = new Date(int(created, MAX_DS) * 100);

  tc.purposeConsents.set(subset(range(1, chance(0.1) ? 24 : 11), rand()));
  tc.purposeLegitimateInterests.set(subset(range(1, chance(0.1) ? 24 : 11), rand()));
  tc.specialFeatureOptins.set(subset(range(1, chance(0.1) ? 12 : 2), rand()));
  tc.vendorConsents.set(vendorSelection(gvlIds));
  tc.vendorLegitimateInterests.set(vendorSelection(gvlIds));

  if (tc.isServiceSpecific) {
    // Publisher restrictions: invalid combinations are silently dropped by the library.
    const nRestr = pick([0, 0, 1, 2, 5]);
    for (let r = 0; r < nRestr; r++) {
      const pr = new PurposeRestriction(int(2, 11), int(0, 2));
      for (const v of subset(gvlIds, pick([0.05, 0.3, 0.8]))) tc.publisherRestrictions.add(v, pr);
    }
    tc.publisherConsents.set(subset(range(1, 11), rand()));
    tc.publisherLegitimateInterests.set(subset(range(2, 11), rand()));
    const nCustom = pick([0, 0, 1, 3, 9]);
    if (nCustom > 0) {
      tc.customPurposes = Object.fromEntries(range(1, nCustom).map((id) => [id, { id, name: `Custom ${id}`, description: '' }]));
      tc.publisherCustomConsents.set(subset(range(1, nCustom), rand()));
      tc.publisherCustomLegitimateInterests.set(subset(range(1, nCustom), rand()));
    }
  }

  const encoded = TCString.encode(tc);
  const dec = TCString.decode(encoded);
  const [coreText, ...rest] = encoded.split('.');
  const coreBits = Base64Url.decode(coreText);
  const liOffset = CORE_FIXED_BITS + dec.vendorConsents.bitLength;

  const restrictions = [];
  for (const pr of dec.publisherRestrictions.getRestrictions()) {
    restrictions.push({
      purpose: pr.purposeId, type: pr.restrictionType,
      vendors: toRanges(dec.publisherRestrictions.getVendors(pr)),
    });
  }
  restrictions.sort((a, b) => a.purpose - b.purpose || a.type - b.type);

  let disclosed = null;
  let publisherTc = null;
  for (const seg of rest) {
    const bits = Base64Url.decode(seg);
    const type = bitsToInt(bits.substr(0, 3));
    if (type === 1) disclosed = vendorExpect(dec.vendorsDisclosed, bits, 3);
    if (type === 3) {
      publisherTc = {
        purposesConsent: idsOf(dec.publisherConsents),
        purposesLi: idsOf(dec.publisherLegitimateInterests),
        numCustomPurposes: bitsToInt(bits.substr(51, 6)),
        customConsent: idsOf(dec.publisherCustomConsents),
        customLi: idsOf(dec.publisherCustomLegitimateInterests),
      };
    }
  }

  const expect = {
    version: dec.version,
    created: dateDs(dec.created),
    lastUpdated: dateDs(dec.lastUpdated),
    cmpId: dec.cmpId,
    cmpVersion: dec.cmpVersion,
    consentScreen: dec.consentScreen,
    consentLanguage: dec.consentLanguage,
    vendorListVersion: dec.vendorListVersion,
    policyVersion: dec.policyVersion,
    isServiceSpecific: dec.isServiceSpecific,
    useNonStandardTexts: dec.useNonStandardStacks,
    specialFeatureOptins: idsOf(dec.specialFeatureOptins),
    purposeConsents: idsOf(dec.purposeConsents),
    purposeLegitimateInterests: idsOf(dec.purposeLegitimateInterests),
    purposeOneTreatment: dec.purposeOneTreatment,
    publisherCountryCode: dec.publisherCountryCode,
    vendorConsents: vendorExpect(dec.vendorConsents, coreBits, CORE_FIXED_BITS),
    vendorLegitimateInterests: vendorExpect(dec.vendorLegitimateInterests, coreBits, liOffset),
    publisherRestrictions: restrictions,
    disclosedVendors: disclosed,
    publisherTc,
  };
  stats.consents[expect.vendorConsents.encoding]++;
  stats.li[expect.vendorLegitimateInterests.encoding]++;
  if (restrictions.length) stats.restrictions++;
  if (publisherTc) stats.publisherTc++;
  if (disclosed) stats.disclosed++;
  cases.push({ tc: encoded, expect });
}

for (const [what, enc] of [['consents', 'bitfield'], ['consents', 'range'], ['li', 'bitfield'], ['li', 'range']]) {
  if (stats[what][enc] < COUNT / 20) {
    throw new Error(`too few ${what} strings with ${enc} encoding: ${JSON.stringify(stats)}`);
  }
}

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', '..', 'tests', 'fixtures', 'tcf', 'generated.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({
  generator: 'tools/tcf/generate.mjs',
  library: '@iabtcf/core 1.5.6',
  count: cases.length,
  stats,
  cases,
}) + '\n');
console.log(`wrote ${cases.length} TC strings to ${out}: ${JSON.stringify(stats)}`);
