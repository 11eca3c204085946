"""Partner knowledge: tiers and policies, deadlines, metrics, the glossary, MDF and settlements, deals."""
