"""The FHIR R4 facade (`/fhir/R4`): another face of the same domain services as `/v1`.

Resources are built with `fhir.resources.R4B`; every rule (the consent gate, the lifecycle,
tenancy) is the domain's own, called here as the `/v1` routes call it. docs/fhir.md maps the
hub's model to FHIR.
"""
