"""The face of the platform: what a person sees first (the home page, the navigation), above every domain."""
