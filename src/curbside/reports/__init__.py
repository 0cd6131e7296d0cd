"""Health reports: one model built from a saved check, rendered as HTML, PDF and FHIR R4."""

from __future__ import annotations

from curbside.reports.model import DoctorReview, HealthReport, ReportError, SecondOpinion, build_report

__all__ = ["DoctorReview", "HealthReport", "ReportError", "SecondOpinion", "build_report"]
