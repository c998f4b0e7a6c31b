using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Gateway.Audit;

namespace Airlock.Cli.Commands;

/// <summary><c>airlock audit list|show|export|verify|public-key</c>.</summary>
internal static class AuditCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    private static readonly JsonSerializerOptions IndentedJsonOptions = new(JsonOptions) { WriteIndented = true };

    public static Command Create()
    {
        var audit = new Command("audit", "Read, export and verify the tamper-evident audit trail");
        audit.Subcommands.Add(ListCommand());
        audit.Subcommands.Add(ShowCommand());
        audit.Subcommands.Add(ExportCommand());
        audit.Subcommands.Add(VerifyCommand());
        audit.Subcommands.Add(PublicKeyCommand());
        audit.Subcommands.Add(AuditPurgeCommand.Create());
        return audit;
    }

    private static Command ListCommand()
    {
        var filters = new AuditFilterOptions();
        var limit = new Option<int>("--limit") { Description = "Most records to show (newest first)", DefaultValueFactory = _ => 100 };
        var command = new Command("list", "List model calls and Claude Code tool events, newest first (metadata only: no prompt content is stored)")
        {
            limit, CommonOptions.Json,
        };
        filters.AddTo(command);
        command.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            if (!filters.TryBuild(parse, out var query, out var error))
            {
                await Console.Error.WriteLineAsync(error);
                return 2;
            }
            var config = CommonOptions.Load(parse);
            await using var store = await AuditStores.OpenAsync(config, cancellationToken);
            var records = await store.Store.QueryAsync(query with { Limit = parse.GetValue(limit) }, cancellationToken);
            if (parse.GetValue(CommonOptions.Json))
            {
                Console.WriteLine(JsonSerializer.Serialize(records, JsonOptions));
                return 0;
            }
            // One timeline: model calls show model and upstream, tool events show tool, decision and what it touched.
            var table = new TableWriter("SEQ", "TIME", "KIND", "USER", "SESSION", "OP", "MODEL/TOOL", "UPSTREAM", "STATUS", "OUTCOME", "IN", "OUT", "MS", "DETAIL");
            foreach (var r in records)
            {
                var tool = r.Tool;
                table.Add(r.Chain?.Sequence.ToString(CultureInfo.InvariantCulture), r.Time.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                    AuditKinds.ToText(r.Kind), r.User, r.SessionId is { Length: > 8 } s ? s[..8] : r.SessionId, tool?.HookEvent ?? r.Operation,
                    tool?.ToolName ?? r.Model, r.Upstream, r.Status.ToString(CultureInfo.InvariantCulture), AuditOutcomes.ToText(r.Outcome),
                    r.InputTokens?.ToString(CultureInfo.InvariantCulture), r.OutputTokens?.ToString(CultureInfo.InvariantCulture),
                    (tool?.DurationMs ?? r.LatencyMs).ToString("0", CultureInfo.InvariantCulture),
                    tool is null ? r.Detail ?? r.ErrorType : ToolDetail(tool));
            }
            table.Write(Console.Out);
            return 0;
        }));
        return command;
    }

    private static Command ShowCommand()
    {
        var requestId = new Argument<string>("request-id") { Description = "Request id (x-airlock-request-id) of the record to show" };
        var command = new Command("show", "Show every field of one record, with its chain link") { requestId };
        command.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            var config = CommonOptions.Load(parse);
            await using var store = await AuditStores.OpenAsync(config, cancellationToken);
            var records = await store.Store.QueryAsync(new AuditQuery { RequestId = parse.GetValue(requestId), OldestFirst = true, Limit = 100 }, cancellationToken);
            if (records.Count == 0)
            {
                await Console.Error.WriteLineAsync($"no audit record with request id '{parse.GetValue(requestId)}'");
                return 1;
            }
            foreach (var record in records)
            {
                Console.WriteLine(JsonSerializer.Serialize(record, IndentedJsonOptions));
            }
            return 0;
        }));
        return command;
    }

    private static Command ExportCommand()
    {
        var filters = new AuditFilterOptions();
        var format = new Option<string>("--format") { Description = "jsonl (default) or csv", DefaultValueFactory = _ => "jsonl" };
        format.AcceptOnlyFromAmong("jsonl", "csv");
        var output = new Option<string>("--output", "-o") { Description = "File to write (default: standard output)" };
        var command = new Command("export", "Export records in chain order with their hashes and signed checkpoints (verifiable with 'audit verify --file')")
        {
            format, output,
        };
        filters.AddTo(command);
        command.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            if (!filters.TryBuild(parse, out var query, out var error))
            {
                await Console.Error.WriteLineAsync(error);
                return 2;
            }
            var config = CommonOptions.Load(parse);
            await using var store = await AuditStores.OpenAsync(config, cancellationToken);
            // The cut is the head at start: records and checkpoints appended while exporting are left for the next export.
            var head = await store.Store.GetChainHeadAsync(cancellationToken);
            using var key = store.LoadSigningKey();
            var header = new AuditExportHeader
            {
                ExportedAt = DateTimeOffset.UtcNow,
                Filtered = query.IsFiltered,
                ToSequence = head.Sequence,
                KeyId = key?.KeyId,
                PublicKey = key is null ? null : Convert.ToHexStringLower(key.PublicKey.Raw),
            };
            var path = parse.GetValue(output);
            await using var writer = path is null ? Console.Out : new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false));
            var count = await AuditExport.WriteAsync(writer, parse.GetValue(format) == "csv" ? AuditExportFormat.Csv : AuditExportFormat.Jsonl, header,
                store.Store.ReadAsync(query with { OldestFirst = true, ToSequence = head.Sequence, Limit = int.MaxValue }, cancellationToken),
                store.Store.ReadCheckpointsAsync(head.Sequence, cancellationToken), cancellationToken);
            if (path is not null)
            {
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"exported {count} record(s) up to seq {head.Sequence} to {path}"));
            }
            return 0;
        }));
        return command;
    }

    private static Command VerifyCommand()
    {
        var file = new Option<string>("--file", "-f") { Description = "Verify an export file (JSONL or CSV) instead of the live store" };
        var publicKey = new Option<string>("--public-key") { Description = "Trusted public key file (PEM or hex, from 'audit public-key'); default: the gateway's key in the data directory" };
        var command = new Command("verify", "Check the hash chain and signed checkpoints; names the first edited, deleted, inserted or reordered record")
        {
            file, publicKey, CommonOptions.Json,
        };
        command.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            AuditPublicKey? trusted = null;
            if (parse.GetValue(publicKey) is { } keyPath)
            {
                try
                {
                    trusted = AuditPublicKey.Parse(await File.ReadAllTextAsync(keyPath, cancellationToken));
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
                {
                    await Console.Error.WriteLineAsync($"--public-key: {keyPath}: {ex.Message}");
                    return 2;
                }
            }
            AuditVerification result;
            if (parse.GetValue(file) is { } path)
            {
                if (trusted is null && TryLoadConfig(parse) is { } fileConfig && AuditStores.LoadSigningKey(fileConfig.DataDir) is { } own)
                {
                    trusted = own.PublicKey;
                    own.Dispose();
                }
                try
                {
                    using var reader = new StreamReader(path);
                    result = await AuditExport.VerifyAsync(reader, trusted, cancellationToken);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
                {
                    await Console.Error.WriteLineAsync($"{path}: {ex.Message}");
                    return 2;
                }
            }
            else
            {
                var config = CommonOptions.Load(parse);
                await using var store = await AuditStores.OpenAsync(config, cancellationToken);
                if (trusted is null && store.LoadSigningKey() is { } own)
                {
                    trusted = own.PublicKey;
                    own.Dispose();
                }
                result = await AuditChainVerifier.VerifyStoreAsync(store.Store, trusted, cancellationToken);
            }
            if (parse.GetValue(CommonOptions.Json))
            {
                var buffer = new System.Buffers.ArrayBufferWriter<byte>();
                using (var json = new Utf8JsonWriter(buffer))
                {
                    result.WriteJson(json, trusted);
                }
                Console.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
            }
            else
            {
                Console.WriteLine(Describe(result, trusted));
            }
            return result.Intact ? 0 : 1;
        }));
        return command;
    }

    internal static string Describe(AuditVerification result, AuditPublicKey? trusted)
    {
        var signatures = trusted is null
            ? "signatures NOT checked (no public key: pass --public-key)"
            : $"signed by key {trusted.KeyId}";
        var range = result.Records == 0 ? "no records" : string.Create(CultureInfo.InvariantCulture, $"{result.Records} record(s), seq {result.FirstSequence}..{result.LastSequence}");
        var gaps = result.Gaps > 0 ? string.Create(CultureInfo.InvariantCulture, $", {result.Gaps} not in this partial export") : "";
        if (result.Fault is { } fault)
        {
            return $"TAMPERED: first bad record: {fault}\n(checked before the fault: {range}{gaps}; {result.Checkpoints.ToString(CultureInfo.InvariantCulture)} checkpoint(s), {signatures})";
        }
        var purged = result.PurgedThrough > 0 ? string.Create(CultureInfo.InvariantCulture, $" (seq 1..{result.PurgedThrough} purged under a signed purge record)") : "";
        // Replicas stamp records with their own clocks: time going back is reported, not a fault (order is the sequence).
        var skew = result.TimeRegressions > 0
            ? string.Create(CultureInfo.InvariantCulture, $"\nnote: {result.TimeRegressions} record(s) are timed earlier than the record before them (largest step back {result.LargestTimeRegression.TotalMilliseconds:0} ms): clocks of the writers differ")
            : "";
        return $"intact: {range}{purged}{gaps}; {result.Checkpoints.ToString(CultureInfo.InvariantCulture)} checkpoint(s) {signatures}{skew}";
    }

    private static Command PublicKeyCommand()
    {
        var hex = new Option<bool>("--hex") { Description = "Print the 32 raw key bytes as hex instead of PEM" };
        var command = new Command("public-key", "Print the public half of the gateway's checkpoint-signing key (give it to your auditor)") { hex };
        command.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            var config = CommonOptions.Load(parse);
            using var key = AuditStores.LoadOrCreateSigningKey(config.DataDir);
            await Console.Out.WriteAsync(parse.GetValue(hex) ? Convert.ToHexStringLower(key.PublicKey.Raw) + "\n" : key.PublicKey.ToPem());
            await Console.Error.WriteLineAsync($"key id {key.KeyId}");
            return 0;
        }));
        return command;
    }

    private static AirlockConfig? TryLoadConfig(ParseResult parse)
    {
        try
        {
            return CommonOptions.Load(parse);
        }
        catch (ConfigurationException)
        {
            return null;
        }
    }

    /// <summary>Decision (when one was given) and what the tool touched, shortened to fit a table cell.</summary>
    internal static string ToolDetail(ToolEventDetails tool)
    {
        var parts = new List<string>(3);
        if (tool.Decision != ToolDecision.None)
        {
            parts.Add(tool.DecisionReason is null ? ToolDecisions.ToText(tool.Decision) : $"{ToolDecisions.ToText(tool.Decision)} ({tool.DecisionReason})");
        }
        if (tool.FilePaths.Count > 0)
        {
            parts.Add(string.Join(',', tool.FilePaths));
        }
        if (tool.Command is not null)
        {
            parts.Add("$ " + tool.Command.ReplaceLineEndings(" "));
        }
        var text = string.Join(' ', parts);
        return text.Length > 80 ? text[..79] + "…" : text;
    }
}
