"""Partner knowledge: tiers and policies, deadlines, deal registration, renewal KPIs, rebates, metrics, glossary."""
