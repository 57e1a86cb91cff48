"""Reading: windows, stats, insights and their suggestions."""
