using System.Globalization;
using Airlock.Core.Audit;

namespace Airlock.Gateway.Siem;

/// <summary>
/// The scalar fields of a record that syslog structured data and OTLP attributes carry, in a fixed order, named as in
/// the JSON export. Metadata only, exactly what the chained record holds: findings go out as rule ids (their keyed
/// hashes stay in the JSON form), and captured content is stored apart from the record and never shipped.
/// </summary>
public static class SiemFields
{
    /// <summary>One field: its name, its text, and whether it is a number (OTLP sends those as <c>intValue</c>/<c>doubleValue</c>).</summary>
    public readonly record struct Field(string Name, string Value, SiemFieldType Type);

    /// <summary>Non-null fields of <paramref name="record"/>.</summary>
    public static List<Field> Of(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var fields = new List<Field>(24);
        void Text(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                fields.Add(new Field(name, value, SiemFieldType.Text));
            }
        }
        void Integer(string name, long? value)
        {
            if (value is { } v)
            {
                fields.Add(new Field(name, v.ToString(CultureInfo.InvariantCulture), SiemFieldType.WholeNumber));
            }
        }

        Text("kind", AuditKinds.ToText(record.Kind));
        Text("request_id", record.RequestId);
        Text("time", record.Time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
        Text("door", record.Door);
        Text("operation", record.Operation);
        Text("key_id", record.KeyId);
        Text("user", record.User);
        Text("team", record.Team);
        Text("session_id", record.SessionId);
        Text("model", record.Model);
        Text("upstream", record.Upstream);
        Integer("status", record.Status);
        Text("outcome", AuditOutcomes.ToText(record.Outcome));
        Text("error_type", record.ErrorType);
        fields.Add(new Field("latency_ms", record.LatencyMs.ToString("0.###", CultureInfo.InvariantCulture), SiemFieldType.Fraction));
        Integer("input_tokens", record.InputTokens);
        Integer("output_tokens", record.OutputTokens);
        Integer("request_bytes", record.RequestBytes);
        Integer("response_bytes", record.ResponseBytes);
        Text("body_sha256", record.BodySha256);
        Text("upstream_request_id", record.UpstreamRequestId);
        Text("client_address", record.ClientAddress);
        Text("user_agent", record.UserAgent);
        if (record.Findings.Count > 0)
        {
            Text("finding_rules", string.Join(',', record.Findings.Select(f => f.RuleId).Distinct(StringComparer.Ordinal)));
            Integer("findings", record.Findings.Count);
        }
        if (record.Tool is { } tool)
        {
            Text("tool_event", tool.HookEvent);
            Text("tool_name", tool.ToolName);
            Text("tool_decision", tool.Decision == ToolDecision.None ? null : ToolDecisions.ToText(tool.Decision));
            Text("tool_command", tool.Command);
        }
        Text("detail", record.Detail);
        if (record.Chain is { } chain)
        {
            Integer("seq", chain.Sequence);
            Text("hash", chain.Hash);
        }
        return fields;
    }

    /// <summary>Syslog severity (RFC 5424 §6.2.1) of a record: informational for ok, notice for admin actions and aborts, warning for refusals, error for upstream failures.</summary>
    public static int SyslogSeverity(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.Outcome switch
        {
            AuditOutcome.UpstreamError => 3,
            // Interrupted: the gateway stopped mid-request; how the request ended is unknown.
            AuditOutcome.Rejected or AuditOutcome.Blocked or AuditOutcome.Interrupted => 4,
            AuditOutcome.ClientAbort => 5,
            _ => record.Kind is AuditKind.Admin or AuditKind.Purge ? 5 : 6,
        };
    }
}

/// <summary>How a field's text is to be read.</summary>
public enum SiemFieldType
{
    /// <summary>Text.</summary>
    Text,

    /// <summary>A whole number.</summary>
    WholeNumber,

    /// <summary>A number with a fraction.</summary>
    Fraction,
}
