using System.Text;

namespace Airlock.Core.Audit;

/// <summary>
/// Makes every text of a record storable everywhere before it is chained: PostgreSQL text cannot hold U+0000
/// and strict UTF-8 cannot encode a lone surrogate, so both become U+FFFD. The cleaned record is the one hashed
/// and stored, so every store keeps (and every verifier sees) the same text. Records without such characters,
/// nearly all, are returned as they are.
/// </summary>
public static class AuditRecordText
{
    /// <summary>The record with U+0000 and unpaired surrogates replaced by U+FFFD in every text field.</summary>
    public static AuditRecord Clean(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!NeedsCleaning(record))
        {
            return record;
        }
        return record with
        {
            RequestId = CleanText(record.RequestId)!,
            Door = CleanText(record.Door)!,
            Operation = CleanText(record.Operation)!,
            KeyId = CleanText(record.KeyId),
            User = CleanText(record.User),
            Team = CleanText(record.Team),
            SessionId = CleanText(record.SessionId),
            Model = CleanText(record.Model),
            Upstream = CleanText(record.Upstream),
            ErrorType = CleanText(record.ErrorType),
            BodySha256 = CleanText(record.BodySha256),
            UpstreamRequestId = CleanText(record.UpstreamRequestId),
            UserAgent = CleanText(record.UserAgent),
            ClientAddress = CleanText(record.ClientAddress),
            Detail = CleanText(record.Detail),
            Findings = [.. record.Findings.Select(f => new AuditFinding(CleanText(f.RuleId)!, CleanText(f.Category)!, CleanText(f.Location)!, CleanText(f.Action)!, CleanText(f.ValueHash)!))],
            Tool = record.Tool is not { } t ? null : t with
            {
                HookEvent = CleanText(t.HookEvent)!,
                ToolName = CleanText(t.ToolName),
                FilePaths = [.. t.FilePaths.Select(p => CleanText(p)!)],
                Command = CleanText(t.Command),
                DecisionReason = CleanText(t.DecisionReason),
                Cwd = CleanText(t.Cwd),
                EventId = CleanText(t.EventId),
            },
        };
    }

    private static bool NeedsCleaning(AuditRecord r) =>
        Bad(r.RequestId) || Bad(r.Door) || Bad(r.Operation) || Bad(r.KeyId) || Bad(r.User) || Bad(r.Team) || Bad(r.SessionId)
        || Bad(r.Model) || Bad(r.Upstream) || Bad(r.ErrorType) || Bad(r.BodySha256) || Bad(r.UpstreamRequestId) || Bad(r.UserAgent)
        || Bad(r.ClientAddress) || Bad(r.Detail) || r.Findings.Any(f => Bad(f.RuleId) || Bad(f.Category) || Bad(f.Location) || Bad(f.Action) || Bad(f.ValueHash))
        || r.Tool is { } t && (Bad(t.HookEvent) || Bad(t.ToolName) || t.FilePaths.Any(Bad) || Bad(t.Command) || Bad(t.DecisionReason)
            || Bad(t.Cwd) || Bad(t.EventId));

    private static bool Bad(string? text)
    {
        if (text is null)
        {
            return false;
        }
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                return true;
            }
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>One text with U+0000 and unpaired surrogates replaced by U+FFFD (the same text when it has none).</summary>
    public static string? CleanText(string? text)
    {
        if (!Bad(text))
        {
            return text;
        }
        var builder = new StringBuilder(text!.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(c).Append(text[++i]);
            }
            else
            {
                builder.Append(c == '\0' || char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }
        return builder.ToString();
    }
}
