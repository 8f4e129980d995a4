// Prints the hand-picked TC strings used by tests/consent/policy.rs, built with
// @iabtcf/core over a tiny synthetic GVL (no network):
//   /work/main/node_modules/.bin/node tools/tcf/policy-strings.mjs
import { GVL, TCModel, TCString, PurposeRestriction } from '@iabtcf/core';

const named = (n, what) => Object.fromEntries(Array.from({ length: n }, (_, i) => [i + 1, { id: i + 1, name: `${what} ${i + 1}`, description: '', illustrations: [] }]));
const vendor = (id, purposes, legIntPurposes, flexiblePurposes = []) => ({
  id, name: `Vendor ${id}`, purposes, legIntPurposes, flexiblePurposes,
  specialPurposes: [], features: [], specialFeatures: [], policyUrl: 'https://example.com',
});
const gvl = () => new GVL({
  gvlSpecificationVersion: 3, vendorListVersion: 150, tcfPolicyVersion: 4, lastUpdated: '2026-01-01T00:00:00Z',
  purposes: named(11, 'Purpose'), specialPurposes: named(2, 'SP'), features: named(3, 'F'), specialFeatures: named(2, 'SF'), stacks: {},
  vendors: { 7: vendor(7, [1, 2], [7, 8]), 755: vendor(755, [1, 3, 4], [2, 7, 8], [2, 7]), 812: vendor(812, [1], [2, 8]) },
});

function build(f) {
  const tc = new TCModel(gvl());
  tc.cmpId = 10; tc.cmpVersion = 3; tc.consentScreen = 1; tc.publisherCountryCode = 'DE';
  tc.created = new Date('2026-03-01T12:00:00Z'); tc.lastUpdated = new Date('2026-03-02T12:00:00Z');
  f(tc);
  return TCString.encode(tc);
}

const out = {
  granted_p1_v755: build((tc) => { tc.purposeConsents.set([1, 7, 8]); tc.vendorConsents.set([7, 755]); }),
  denied_p1: build((tc) => { tc.purposeConsents.set([7, 8]); tc.purposeLegitimateInterests.set([2, 7, 8]); tc.vendorConsents.set([7, 755]); }),
  p1_v755_li_only: build((tc) => { tc.purposeConsents.set([1]); tc.vendorConsents.set([7]); tc.vendorLegitimateInterests.set([755]); }),
  p1_v755_restricted: build((tc) => {
    tc.isServiceSpecific = true; tc.purposeConsents.set([1]); tc.vendorConsents.set([7, 755]);
    tc.publisherRestrictions.add(755, new PurposeRestriction(1, 0));
  }),
};
for (const [k, v] of Object.entries(out)) console.log(`${k} ${v}`);
