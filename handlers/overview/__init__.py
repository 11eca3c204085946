"""The week and the dashboard: the weekly digest and the App Home tab."""
