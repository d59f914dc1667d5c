# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The modules whose options name each report file they write (one report-writing step,
    # module_utils/_reports/_report.ReportBackend): use together with jarvis.maintenance.attributes.
    DOCUMENTATION = r"""
options:
  json:
    description: Where to write the JSON report. Not written when unset.
    type: path
  markdown:
    description: Where to write the Markdown report. Not written when unset.
    type: path
attributes:
  check_mode:
    support: full
    details:
      - Computes and returns everything; writes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Files are written only when their content or mode changes (the generation time is part of the content).
notes:
  - Report files are written atomically with mode 0640, in directories created with mode 0750.
"""

    # With a self-contained HTML page too.
    HTML = r"""
options:
  html:
    description: Where to write the self-contained HTML report (no external asset, no script). Not written when unset.
    type: path
"""
