"""Pre-sale campaigns (以销定产): a supplier sells a coming harvest against deposits, within a capacity."""
