using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Airlock.Core.Audit;

/// <summary>
/// The one row layout every audit store reads and writes (SQLite and PostgreSQL share it, so a record cannot come
/// back different from one store than from the other). Column order: <c>seq, request_id, time, door, operation,
/// key_id, user_name, team, session_id, model, upstream, status, outcome, error_type, latency_ms, ttfb_ms,
/// input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, request_bytes, response_bytes, body_sha256,
/// upstream_request_id, user_agent, client_address, findings, kind, tool_event, tool_name, tool_file_paths,
/// tool_command, tool_command_truncated, tool_decision, tool_decision_reason, tool_duration_ms, tool_cwd,
/// tool_event_id, prev_hash, hash, identity_commitment, identity_salt, purge, detail</c> (identity and purge since
/// SQLite schema 4, detail since SQLite schema 5 / PostgreSQL schema 3). List-valued
/// fields and purge details are stored as JSON text.
/// </summary>
public static class AuditRowLayout
{
    /// <summary>The findings column value (null when there are none).</summary>
    public static string? FindingsJson(IReadOnlyList<AuditFinding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        return findings.Count == 0 ? null : JsonSerializer.Serialize(findings, AuditRowJsonContext.Default.IReadOnlyListAuditFinding);
    }

    /// <summary>The tool file-paths column value (null when there are none).</summary>
    public static string? FilePathsJson(ToolEventDetails? tool) =>
        tool is { FilePaths.Count: > 0 } ? JsonSerializer.Serialize(tool.FilePaths, AuditRowJsonContext.Default.IReadOnlyListString) : null;

    /// <summary>The purge column value (null on records that are not purges).</summary>
    public static string? PurgeJson(AuditPurgeDetails? purge) =>
        purge is null ? null : JsonSerializer.Serialize(purge, AuditRowJsonContext.Default.AuditPurgeDetails);

    /// <summary>Reads the record at the reader's current row. The chain link is set when the row has a hash (rows
    /// of a store that was never chained have none).</summary>
    public static AuditRecord Read(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var record = new AuditRecord
        {
            RequestId = reader.GetString(1),
            Time = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
            Door = reader.GetString(3),
            Operation = reader.GetString(4),
            KeyId = Text(reader, 5),
            User = Text(reader, 6),
            Team = Text(reader, 7),
            SessionId = Text(reader, 8),
            Model = Text(reader, 9),
            Upstream = Text(reader, 10),
            Status = reader.GetInt32(11),
            Outcome = AuditOutcomes.Parse(reader.GetString(12)),
            ErrorType = Text(reader, 13),
            LatencyMs = reader.GetDouble(14),
            TimeToFirstByteMs = reader.IsDBNull(15) ? null : reader.GetDouble(15),
            InputTokens = Long(reader, 16),
            OutputTokens = Long(reader, 17),
            CacheReadTokens = Long(reader, 18),
            CacheCreationTokens = Long(reader, 19),
            RequestBytes = reader.GetInt64(20),
            ResponseBytes = reader.GetInt64(21),
            BodySha256 = Text(reader, 22),
            UpstreamRequestId = Text(reader, 23),
            UserAgent = Text(reader, 24),
            ClientAddress = Text(reader, 25),
            Findings = reader.IsDBNull(26)
                ? []
                : JsonSerializer.Deserialize(reader.GetString(26), AuditRowJsonContext.Default.IReadOnlyListAuditFinding) ?? [],
            Kind = AuditKinds.Parse(reader.GetString(27)),
            Tool = reader.IsDBNull(28) ? null : new ToolEventDetails
            {
                HookEvent = reader.GetString(28),
                ToolName = Text(reader, 29),
                FilePaths = reader.IsDBNull(30)
                    ? []
                    : JsonSerializer.Deserialize(reader.GetString(30), AuditRowJsonContext.Default.IReadOnlyListString) ?? [],
                Command = Text(reader, 31),
                // SQLite stores the flag as an integer, PostgreSQL as a boolean.
                CommandTruncated = !reader.IsDBNull(32) && reader.GetValue(32) is true or (long and not 0),
                Decision = reader.IsDBNull(33) ? ToolDecision.None : ToolDecisions.Parse(reader.GetString(33)),
                DecisionReason = Text(reader, 34),
                DurationMs = reader.IsDBNull(35) ? null : reader.GetDouble(35),
                Cwd = Text(reader, 36),
                EventId = Text(reader, 37),
            },
            Detail = reader.FieldCount > 43 && !reader.IsDBNull(43) ? reader.GetString(43) : null,
            Purge = reader.IsDBNull(42) ? null : JsonSerializer.Deserialize(reader.GetString(42), AuditRowJsonContext.Default.AuditPurgeDetails),
        };
        return reader.IsDBNull(39)
            ? record
            : record with
            {
                Chain = new AuditChainLink(reader.GetInt64(0),
                    Convert.ToHexStringLower((byte[])reader.GetValue(38)), Convert.ToHexStringLower((byte[])reader.GetValue(39)),
                    Hex(reader, 40), Hex(reader, 41)),
            };
    }

    private static string? Hex(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : Convert.ToHexStringLower((byte[])reader.GetValue(ordinal));

    private static string? Text(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static long? Long(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);
}

[JsonSerializable(typeof(IReadOnlyList<AuditFinding>))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(AuditPurgeDetails))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class AuditRowJsonContext : JsonSerializerContext;
