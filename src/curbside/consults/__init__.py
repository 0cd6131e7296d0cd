"""The second opinion: verified doctors review a patient's saved check and answer their questions.

The pure domain (``workflow``, ``specialties``, ``matching``, ``review``, ``attachments``) knows
nothing of HTTP or SQL; :mod:`curbside.consults.service` ties it to storage and mail.
"""
