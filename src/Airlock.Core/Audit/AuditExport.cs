using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Airlock.Core.Audit;

/// <summary>Export file formats.</summary>
public enum AuditExportFormat
{
    /// <summary>One JSON object a line: a header, then records in chain order, each checkpoint right after the record it signs.</summary>
    Jsonl,

    /// <summary>RFC 4180 CSV with a header row; checkpoints are rows whose <c>type</c> is <c>checkpoint</c>.</summary>
    Csv,
}

/// <summary>First line of a JSONL export: what it holds and the key its checkpoints verify against.</summary>
public sealed record AuditExportHeader
{
    /// <summary>Always <c>airlock-audit-export</c>.</summary>
    public string Format { get; init; } = AuditExport.FormatName;

    /// <summary>Export layout version.</summary>
    public int Version { get; init; } = 1;

    /// <summary>When the export was made.</summary>
    public DateTimeOffset ExportedAt { get; init; }

    /// <summary>True when filters selected part of the trail (sequence gaps are then expected).</summary>
    public bool Filtered { get; init; }

    /// <summary>Last sequence included: the chain head when the export started.</summary>
    public long ToSequence { get; init; }

    /// <summary>Id of the checkpoint-signing key.</summary>
    public string? KeyId { get; init; }

    /// <summary>Raw Ed25519 public key, hex (for reference: verify against a key obtained independently).</summary>
    public string? PublicKey { get; init; }
}

/// <summary>
/// Writes and verifies audit exports. Both formats carry every record field plus its chain link and the
/// signed checkpoints, so <c>airlock audit verify</c> can check an export with nothing but the public key.
/// </summary>
public static class AuditExport
{
    /// <summary>Value of <see cref="AuditExportHeader.Format"/>.</summary>
    public const string FormatName = "airlock-audit-export";

    private static readonly string[] CsvColumns =
    [
        "type", "seq", "prev_hash", "hash", "kind", "request_id", "time", "door", "operation", "key_id", "user", "team", "session_id",
        "model", "upstream", "status", "outcome", "error_type", "latency_ms", "ttfb_ms", "input_tokens", "output_tokens",
        "cache_read_tokens", "cache_creation_tokens", "request_bytes", "response_bytes", "body_sha256", "upstream_request_id",
        "user_agent", "client_address", "findings", "tool", "signing_key_id", "signature", "export_scope",
        "identity_commitment", "identity_salt", "purge", "detail",
    ];

    // Exports written before chain encoding version 2 have the first 35 columns only, those before version 3 the first
    // 38; they still verify.
    private const int LegacyCsvColumnCount = 35;
    private const int Version2CsvColumnCount = 38;

    /// <summary>
    /// Writes <paramref name="records"/> (chain order) with the <paramref name="checkpoints"/> (sequence order)
    /// merged in right after the record each one signs. Returns the number of records written.
    /// </summary>
    public static async Task<long> WriteAsync(TextWriter output, AuditExportFormat format, AuditExportHeader header,
        IAsyncEnumerable<AuditRecord> records, IAsyncEnumerable<AuditCheckpoint> checkpoints, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(checkpoints);
        if (format == AuditExportFormat.Jsonl)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(new ExportLine { Header = header }, ExportJsonContext.Default.ExportLine)).ConfigureAwait(false);
        }
        else
        {
            await output.WriteLineAsync(string.Join(',', CsvColumns)).ConfigureAwait(false);
            // The CSV counterpart of the JSONL header: an "export" row with the cut (seq), the time and the scope.
            var cells = new string?[CsvColumns.Length];
            cells[0] = "export";
            cells[1] = header.ToSequence.ToString(CultureInfo.InvariantCulture);
            cells[6] = header.ExportedAt.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            cells[32] = header.KeyId;
            cells[34] = header.Filtered ? "filtered" : "complete";
            await output.WriteLineAsync(CsvRow(cells)).ConfigureAwait(false);
        }
        long count = 0;
        await using var pending = checkpoints.GetAsyncEnumerator(cancellationToken);
        var hasCheckpoint = await pending.MoveNextAsync().ConfigureAwait(false);
        await foreach (var record in records.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var sequence = record.Chain?.Sequence ?? 0;
            while (hasCheckpoint && pending.Current.Sequence < sequence)
            {
                // Its record is not in a filtered export: the checkpoint is still kept (it proves the head at that point).
                await WriteCheckpointAsync(output, format, pending.Current).ConfigureAwait(false);
                hasCheckpoint = await pending.MoveNextAsync().ConfigureAwait(false);
            }
            await output.WriteLineAsync(format == AuditExportFormat.Jsonl
                ? JsonSerializer.Serialize(new ExportLine { Record = record }, ExportJsonContext.Default.ExportLine)
                : CsvRow(RecordCells(record))).ConfigureAwait(false);
            count++;
            while (hasCheckpoint && pending.Current.Sequence == sequence)
            {
                await WriteCheckpointAsync(output, format, pending.Current).ConfigureAwait(false);
                hasCheckpoint = await pending.MoveNextAsync().ConfigureAwait(false);
            }
        }
        while (hasCheckpoint)
        {
            await WriteCheckpointAsync(output, format, pending.Current).ConfigureAwait(false);
            hasCheckpoint = await pending.MoveNextAsync().ConfigureAwait(false);
        }
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return count;
    }

    private static Task WriteCheckpointAsync(TextWriter output, AuditExportFormat format, AuditCheckpoint checkpoint) =>
        output.WriteLineAsync(format == AuditExportFormat.Jsonl
            ? JsonSerializer.Serialize(new ExportLine { Checkpoint = checkpoint }, ExportJsonContext.Default.ExportLine)
            : CsvRow(CheckpointCells(checkpoint)));

    /// <summary>
    /// Verifies an export read from <paramref name="input"/> (format detected from its first line) against
    /// <paramref name="trustedKey"/>. Throws <see cref="InvalidDataException"/> naming the line when the file is not
    /// a readable export (as opposed to a readable export that fails verification, reported in the result).
    /// </summary>
    public static async Task<AuditVerification> VerifyAsync(TextReader input, AuditPublicKey? trustedKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var first = await input.ReadLineAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException("line 1: the file is empty");
        var lineNumber = 1L;
        AuditChainVerifier? verifier;
        long? toSequence;
        if (first.TrimStart().StartsWith('{'))
        {
            var header = Parse(first, lineNumber).Header;
            if (header is not { Format: FormatName })
            {
                throw new InvalidDataException($"line 1: not an Airlock audit export (the first line must be the {FormatName} header)");
            }
            if (header.Version != 1)
            {
                throw new InvalidDataException($"line 1: export version {header.Version.ToString(CultureInfo.InvariantCulture)} is newer than this Airlock (1)");
            }
            verifier = new AuditChainVerifier(trustedKey, header.Filtered);
            toSequence = header.Filtered ? null : header.ToSequence;
            while (await input.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line && !verifier.Failed)
            {
                lineNumber++;
                if (line.Length == 0)
                {
                    continue;
                }
                var parsed = Parse(line, lineNumber);
                if (parsed.Record is { } record)
                {
                    verifier.Add(record);
                }
                else if (parsed.Checkpoint is { } checkpoint)
                {
                    verifier.AddCheckpoint(checkpoint);
                }
                else
                {
                    throw new InvalidDataException($"line {lineNumber.ToString(CultureInfo.InvariantCulture)}: neither a record nor a checkpoint");
                }
            }
            return Complete(verifier, toSequence);
        }
        var columnCount = string.Equals(first.Trim(), string.Join(',', CsvColumns), StringComparison.Ordinal) ? CsvColumns.Length
            : string.Equals(first.Trim(), string.Join(',', CsvColumns[..Version2CsvColumnCount]), StringComparison.Ordinal) ? Version2CsvColumnCount
            : string.Equals(first.Trim(), string.Join(',', CsvColumns[..LegacyCsvColumnCount]), StringComparison.Ordinal) ? LegacyCsvColumnCount
            : 0;
        if (columnCount == 0)
        {
            throw new InvalidDataException("line 1: not an Airlock audit export (neither the JSONL header nor the CSV header row)");
        }
        var csv = new CsvReader(input);
        verifier = null;
        toSequence = null;
        while (await csv.ReadRowAsync(cancellationToken).ConfigureAwait(false) is { } row && verifier?.Failed != true)
        {
            if (row.Count != columnCount)
            {
                throw new InvalidDataException($"line {csv.Line.ToString(CultureInfo.InvariantCulture)}: {row.Count.ToString(CultureInfo.InvariantCulture)} columns, expected {columnCount.ToString(CultureInfo.InvariantCulture)}");
            }
            if (verifier is null)
            {
                if (row[0] != "export" || (row[34] != "complete" && row[34] != "filtered"))
                {
                    throw new InvalidDataException($"line {csv.Line.ToString(CultureInfo.InvariantCulture)}: the first row must be the export row (type 'export', scope complete or filtered)");
                }
                var filtered = row[34] == "filtered";
                verifier = new AuditChainVerifier(trustedKey, filtered);
                toSequence = filtered ? null : long.TryParse(row[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var to) ? to : null;
                continue;
            }
            try
            {
                switch (row[0])
                {
                    case "record":
                        verifier.Add(FromCells(row));
                        break;
                    case "checkpoint":
                        verifier.AddCheckpoint(new AuditCheckpoint(Long(row[1])!.Value, row[3]!, Time(row[6]), row[32]!, row[33]!));
                        break;
                    default:
                        throw new FormatException($"type '{row[0]}' is neither record nor checkpoint");
                }
            }
            catch (Exception ex) when (ex is FormatException or NullReferenceException or InvalidOperationException or JsonException or ArgumentException)
            {
                throw new InvalidDataException($"line {csv.Line.ToString(CultureInfo.InvariantCulture)}: {ex.Message}", ex);
            }
        }
        return verifier is null
            ? throw new InvalidDataException("line 2: the export row is missing")
            : Complete(verifier, toSequence);
    }

    /// <summary>A complete export must reach the sequence its header names: otherwise records were cut from its end.</summary>
    private static AuditVerification Complete(AuditChainVerifier verifier, long? toSequence)
    {
        var result = verifier.Result;
        if (result.Intact && toSequence is { } to && result.LastSequence != to)
        {
            return result with
            {
                Fault = new AuditChainFault(result.LastSequence + 1, null,
                    string.Create(CultureInfo.InvariantCulture, $"the export ends at seq {result.LastSequence} but says it holds records up to seq {to} (records were removed from its end)")),
            };
        }
        return result;
    }

    private static ExportLine Parse(string line, long lineNumber)
    {
        try
        {
            return JsonSerializer.Deserialize(line, ExportJsonContext.Default.ExportLine)
                ?? throw new InvalidDataException($"line {lineNumber.ToString(CultureInfo.InvariantCulture)}: null");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"line {lineNumber.ToString(CultureInfo.InvariantCulture)}: not a valid export line ({ex.Message})", ex);
        }
    }

    private static string?[] RecordCells(AuditRecord r) =>
    [
        "record", r.Chain?.Sequence.ToString(CultureInfo.InvariantCulture), r.Chain?.PreviousHash, r.Chain?.Hash, AuditKinds.ToText(r.Kind),
        r.RequestId, r.Time.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture), r.Door, r.Operation,
        r.KeyId, r.User, r.Team, r.SessionId, r.Model, r.Upstream, r.Status.ToString(CultureInfo.InvariantCulture),
        AuditOutcomes.ToText(r.Outcome), r.ErrorType, Real(r.LatencyMs), Real(r.TimeToFirstByteMs), Int(r.InputTokens),
        Int(r.OutputTokens), Int(r.CacheReadTokens), Int(r.CacheCreationTokens), Int(r.RequestBytes), Int(r.ResponseBytes),
        r.BodySha256, r.UpstreamRequestId, r.UserAgent, r.ClientAddress,
        r.Findings.Count == 0 ? null : JsonSerializer.Serialize(r.Findings, ExportJsonContext.Default.IReadOnlyListAuditFinding),
        r.Tool is null ? null : JsonSerializer.Serialize(r.Tool, ExportJsonContext.Default.ToolEventDetails),
        null, null, null,
        r.Chain?.IdentityCommitment, r.Chain?.IdentitySalt,
        r.Purge is null ? null : JsonSerializer.Serialize(r.Purge, ExportJsonContext.Default.AuditPurgeDetails),
        r.Detail,
    ];

    private static string?[] CheckpointCells(AuditCheckpoint c)
    {
        var cells = new string?[CsvColumns.Length];
        cells[0] = "checkpoint";
        cells[1] = c.Sequence.ToString(CultureInfo.InvariantCulture);
        cells[3] = c.Hash;
        cells[6] = c.Time.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        cells[32] = c.KeyId;
        cells[33] = c.Signature;
        return cells;
    }

    private static AuditRecord FromCells(List<string?> c) => new()
    {
        Chain = c[1] is null ? null : new AuditChainLink(Long(c[1])!.Value, c[2] ?? "", c[3] ?? "",
            c.Count > LegacyCsvColumnCount ? c[35] : null, c.Count > LegacyCsvColumnCount ? c[36] : null),
        Purge = c.Count > LegacyCsvColumnCount && c[37] is { } purge ? JsonSerializer.Deserialize(purge, ExportJsonContext.Default.AuditPurgeDetails) : null,
        Detail = c.Count > Version2CsvColumnCount ? c[38] : null,
        Kind = AuditKinds.Parse(c[4] ?? ""),
        RequestId = c[5] ?? throw new FormatException("request_id is empty"),
        Time = Time(c[6]),
        Door = c[7] ?? throw new FormatException("door is empty"),
        Operation = c[8] ?? throw new FormatException("operation is empty"),
        KeyId = c[9],
        User = c[10],
        Team = c[11],
        SessionId = c[12],
        Model = c[13],
        Upstream = c[14],
        Status = checked((int)(Long(c[15]) ?? 0)),
        Outcome = AuditOutcomes.Parse(c[16] ?? ""),
        ErrorType = c[17],
        LatencyMs = Double(c[18]) ?? 0,
        TimeToFirstByteMs = Double(c[19]),
        InputTokens = Long(c[20]),
        OutputTokens = Long(c[21]),
        CacheReadTokens = Long(c[22]),
        CacheCreationTokens = Long(c[23]),
        RequestBytes = Long(c[24]) ?? 0,
        ResponseBytes = Long(c[25]) ?? 0,
        BodySha256 = c[26],
        UpstreamRequestId = c[27],
        UserAgent = c[28],
        ClientAddress = c[29],
        Findings = c[30] is null ? [] : JsonSerializer.Deserialize(c[30]!, ExportJsonContext.Default.IReadOnlyListAuditFinding) ?? [],
        Tool = c[31] is null ? null : JsonSerializer.Deserialize(c[31]!, ExportJsonContext.Default.ToolEventDetails),
    };

    private static DateTimeOffset Time(string? text) =>
        DateTimeOffset.Parse(text ?? throw new FormatException("time is empty"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private static string? Int(long? value) => value?.ToString(CultureInfo.InvariantCulture);

    private static string? Real(double? value) => value?.ToString("R", CultureInfo.InvariantCulture);

    private static long? Long(string? text) => text is null ? null : long.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture);

    private static double? Double(string? text) => text is null ? null : double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>
    /// One CSV row. Null is an empty cell; an empty string is written quoted (<c>""</c>) so the two stay apart
    /// (the chain hash tells them apart too).
    /// </summary>
    private static string CsvRow(IEnumerable<string?> cells)
    {
        var row = new StringBuilder();
        foreach (var cell in cells)
        {
            // Every cell is preceded by a comma; the first one is dropped at the end.
            row.Append(',');
            if (cell is null)
            {
                continue;
            }
            if (cell.Length == 0 || cell.AsSpan().IndexOfAny(",\"\r\n") >= 0)
            {
                row.Append('"').Append(cell.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            }
            else
            {
                row.Append(cell);
            }
        }
        return row.ToString(1, row.Length - 1);
    }

    /// <summary>RFC 4180 reader that keeps null (empty unquoted cell) apart from the empty string (<c>""</c>).</summary>
    private sealed class CsvReader(TextReader input)
    {
        public long Line { get; private set; } = 1;

        public async Task<List<string?>?> ReadRowAsync(CancellationToken cancellationToken)
        {
            var line = await input.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (line is null)
            {
                return null;
            }
            Line++;
            var cells = new List<string?>();
            var cell = new StringBuilder();
            var quoted = false;
            var inQuotes = false;
            var i = 0;
            while (true)
            {
                if (i == line.Length)
                {
                    if (!inQuotes)
                    {
                        cells.Add(quoted || cell.Length > 0 ? cell.ToString() : null);
                        return cells;
                    }
                    // A quoted cell spans lines: the newline is part of it.
                    line = await input.ReadLineAsync(cancellationToken).ConfigureAwait(false)
                        ?? throw new InvalidDataException($"line {Line.ToString(CultureInfo.InvariantCulture)}: unterminated quoted cell");
                    Line++;
                    cell.Append('\n');
                    i = 0;
                    continue;
                }
                var ch = line[i++];
                if (inQuotes)
                {
                    if (ch == '"')
                    {
                        if (i < line.Length && line[i] == '"')
                        {
                            cell.Append('"');
                            i++;
                        }
                        else
                        {
                            inQuotes = false;
                        }
                    }
                    else
                    {
                        cell.Append(ch);
                    }
                }
                else if (ch == ',')
                {
                    cells.Add(quoted || cell.Length > 0 ? cell.ToString() : null);
                    cell.Clear();
                    quoted = false;
                }
                else if (ch == '"' && cell.Length == 0 && !quoted)
                {
                    inQuotes = true;
                    quoted = true;
                }
                else
                {
                    cell.Append(ch);
                }
            }
        }
    }

    /// <summary>Streams the lines of a JSONL export back as records (tests, tooling).</summary>
    public static async IAsyncEnumerable<AuditRecord> ReadRecordsAsync(TextReader input, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var lineNumber = 0L;
        while (await input.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            lineNumber++;
            if (line.Length > 0 && Parse(line, lineNumber).Record is { } record)
            {
                yield return record;
            }
        }
    }
}

/// <summary>One JSONL export line: exactly one of the three is set.</summary>
internal sealed record ExportLine
{
    public AuditExportHeader? Header { get; init; }

    public AuditRecord? Record { get; init; }

    public AuditCheckpoint? Checkpoint { get; init; }
}

[JsonSerializable(typeof(ExportLine))]
[JsonSerializable(typeof(IReadOnlyList<AuditFinding>))]
[JsonSerializable(typeof(ToolEventDetails))]
[JsonSerializable(typeof(AuditPurgeDetails))]
[JsonSerializable(typeof(AuditRecord))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectRequiredConstructorParameters = true)]
internal sealed partial class ExportJsonContext : JsonSerializerContext;
