"""The STACKS API client: typed models, errors, rate budget and the client itself."""
