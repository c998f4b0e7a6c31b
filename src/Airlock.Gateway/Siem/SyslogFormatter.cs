using System.Globalization;
using System.Text;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Gateway.Admin;

namespace Airlock.Gateway.Siem;

/// <summary>
/// RFC 5424 syslog messages for audit records:
/// <c>&lt;PRI&gt;1 TIMESTAMP HOSTNAME airlock PROCID MSGID [airlock@32473 name="value" …] MSG</c>.
/// The structured data carries the record's scalar fields (<see cref="SiemFields"/>); MSG is the record as JSON or a
/// CEF line (<see cref="CefFormatter"/>). 32473 is the private enterprise number reserved for documentation
/// (RFC 5612 §2), the usual choice for an SD-ID that is not registered with IANA.
/// </summary>
public static class SyslogFormatter
{
    /// <summary>SD-ID of the structured-data element.</summary>
    public const string StructuredDataId = "airlock@32473";

    private static readonly string Host = HeaderToken(Environment.MachineName, 255);
    private static readonly string ProcessId = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

    /// <summary>The full message (no transport framing), UTF-8.</summary>
    public static byte[] Format(AuditRecord record, int facility, bool cef)
    {
        ArgumentNullException.ThrowIfNull(record);
        var text = new StringBuilder(512);
        // PRI = facility * 8 + severity (RFC 5424 §6.2.1); VERSION 1.
        text.Append('<').Append((facility * 8 + SiemFields.SyslogSeverity(record)).ToString(CultureInfo.InvariantCulture)).Append(">1 ");
        text.Append(record.Time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture)).Append(' ');
        text.Append(Host).Append(" airlock ").Append(ProcessId).Append(' ');
        text.Append(HeaderToken(AuditKinds.ToText(record.Kind), 32)).Append(' ');
        text.Append('[').Append(StructuredDataId);
        foreach (var field in SiemFields.Of(record))
        {
            text.Append(' ').Append(field.Name).Append("=\"");
            AppendParamValue(text, field.Value);
            text.Append('"');
        }
        text.Append("] ");
        text.Append(cef ? CefFormatter.Format(record) : JsonSerializer.Serialize(record, AdminJsonContext.Default.AuditRecord));
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>PARAM-VALUE escaping (RFC 5424 §6.3.3): '"', '\' and ']' are preceded by a backslash.</summary>
    public static void AppendParamValue(StringBuilder text, string value)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(value);
        foreach (var c in value)
        {
            if (c is '"' or '\\' or ']')
            {
                text.Append('\\');
            }
            text.Append(c);
        }
    }

    /// <summary>A header field (HOSTNAME, MSGID): printable US-ASCII without spaces, at most <paramref name="max"/> characters, "-" when empty.</summary>
    private static string HeaderToken(string value, int max)
    {
        var token = new string([.. value.Where(c => c is > ' ' and < (char)127).Take(max)]);
        return token.Length == 0 ? "-" : token;
    }
}

/// <summary>
/// ArcSight Common Event Format lines: <c>CEF:0|Airlock|Airlock Gateway|1|signature|name|severity|extension</c>.
/// Escaping follows the CEF specification ("Implementing ArcSight Common Event Format", character encoding):
/// in header fields '\' and '|' are backslash-escaped; in extension values '\' and '=' are backslash-escaped and
/// line breaks become <c>\n</c> / <c>\r</c>.
/// </summary>
public static class CefFormatter
{
    /// <summary>The CEF line for <paramref name="record"/>.</summary>
    public static string Format(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var kind = AuditKinds.ToText(record.Kind);
        var outcome = AuditOutcomes.ToText(record.Outcome);
        var name = record.Tool?.ToolName is { } tool ? $"{kind} {tool} {outcome}" : $"{kind} {record.Operation} {outcome}";
        var text = new StringBuilder(512);
        text.Append("CEF:0|Airlock|Airlock Gateway|1|");
        AppendHeader(text, $"{kind}:{outcome}");
        text.Append('|');
        AppendHeader(text, name);
        text.Append('|').Append(Severity(record.Outcome).ToString(CultureInfo.InvariantCulture)).Append('|');
        var first = true;
        void Extension(string key, string? value)
        {
            if (string.IsNullOrEmpty(value))
            {
                return;
            }
            text.Append(first ? "" : " ").Append(key).Append('=');
            AppendExtensionValue(text, value);
            first = false;
        }
        Extension("rt", record.Time.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        Extension("externalId", record.RequestId);
        Extension("suser", record.User);
        Extension("suid", record.KeyId);
        Extension("cs1Label", record.Team is null ? null : "team");
        Extension("cs1", record.Team);
        Extension("cs2Label", record.SessionId is null ? null : "session");
        Extension("cs2", record.SessionId);
        Extension("cs3Label", record.Model is null ? null : "model");
        Extension("cs3", record.Model);
        Extension("cs4Label", record.Upstream is null ? null : "upstream");
        Extension("cs4", record.Upstream);
        var rules = record.Findings.Count == 0 ? null : string.Join(',', record.Findings.Select(f => f.RuleId).Distinct(StringComparer.Ordinal));
        Extension("cs5Label", rules is null ? null : "finding_rules");
        Extension("cs5", rules);
        Extension("cs6Label", record.Tool is null ? null : "tool");
        Extension("cs6", record.Tool?.ToolName ?? record.Tool?.HookEvent);
        Extension("cn1Label", "status");
        Extension("cn1", record.Status.ToString(CultureInfo.InvariantCulture));
        Extension("outcome", outcome);
        Extension("reason", record.ErrorType);
        Extension("act", record.Operation);
        Extension("app", record.Door);
        Extension("requestClientApplication", record.UserAgent);
        Extension("src", System.Net.IPAddress.TryParse(record.ClientAddress, out _) ? record.ClientAddress : null);
        Extension("msg", record.Tool?.Command ?? record.Detail);
        return text.ToString();
    }

    /// <summary>CEF severity 0–10.</summary>
    public static int Severity(AuditOutcome outcome) => outcome switch
    {
        AuditOutcome.Ok => 1,
        AuditOutcome.ClientAbort => 3,
        AuditOutcome.UpstreamError or AuditOutcome.Interrupted => 5,
        AuditOutcome.Rejected => 6,
        AuditOutcome.Blocked => 8,
        _ => 5,
    };

    /// <summary>Header-field escaping: '\' → <c>\\</c>, '|' → <c>\|</c>.</summary>
    public static void AppendHeader(StringBuilder text, string value)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(value);
        foreach (var c in value)
        {
            if (c is '\\' or '|')
            {
                text.Append('\\');
            }
            // A line break would end the event: headers keep one line.
            text.Append(c is '\r' or '\n' ? ' ' : c);
        }
    }

    /// <summary>Extension-value escaping: '\' → <c>\\</c>, '=' → <c>\=</c>, line feed → <c>\n</c>, carriage return → <c>\r</c>.</summary>
    public static void AppendExtensionValue(StringBuilder text, string value)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(value);
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    text.Append(@"\\");
                    break;
                case '=':
                    text.Append(@"\=");
                    break;
                case '\n':
                    text.Append(@"\n");
                    break;
                case '\r':
                    text.Append(@"\r");
                    break;
                default:
                    text.Append(c);
                    break;
            }
        }
    }
}
