"""Credit: merchant credit ledgers, scores and A–D grades, and market assessments (考核)."""
