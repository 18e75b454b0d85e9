"""Messages coming in (SOP step 1): a poll's batch stored as contacts, messages and cases
(``ingest``), the citizen's own status check and survey answered on arrival (``selfservice``),
Meta's signed webhook deliveries (``webhooks``), attachments downloaded (``attachments``) and
the items a connector could not read (``setaside``).

Uses the core, the classifier, the connectors, the setup and notifications.
"""
