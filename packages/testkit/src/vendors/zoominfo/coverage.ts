import type { CoverageProfile } from '../../truth/index.js';

/**
 * ZoomInfo's default coverage: the deepest company firmographics of the
 * three vendors (headcount, revenue, industry, technologies) and direct
 * phones; emails and titles a little behind Apollo's; LinkedIn only where a
 * profile is linked (`externalUrls`).
 */
export const ZOOMINFO_COVERAGE: CoverageProfile = {
  personShare: 0.8,
  companyShare: 0.95,
  fields: {
    email: 0.88,
    firstName: 1,
    lastName: 1,
    fullName: 1,
    linkedinUrl: 0.75,
    phone: 0.8,
    title: 0.93,
    seniority: 0.9,
    department: 0.9,
    location: 0.9,
    'company.name': 1,
    'company.domain': 0.99,
    'company.industry': 0.95,
    'company.headcount': 0.95,
    'company.headcountRange': 0.95,
    'company.annualRevenue': 0.9,
    'company.location': 0.95,
    'company.technologies': 0.75,
  },
  errorRates: {
    email: 0.04,
    phone: 0.05,
    title: 0.05,
    'company.headcount': 0.08,
    'company.annualRevenue': 0.1,
    'company.technologies': 0.1,
  },
  defaultErrorRate: 0.02,
};
