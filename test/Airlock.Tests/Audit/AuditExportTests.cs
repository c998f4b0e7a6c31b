using System.Security.Cryptography;
using Airlock.Core.Audit;
using static Airlock.Tests.Audit.AuditSamples;

namespace Airlock.Tests.Audit;

public sealed class AuditExportTests : IDisposable
{
    private readonly AuditSigningKey _key = AuditSigningKey.FromSeed(RandomNumberGenerator.GetBytes(32));

    public void Dispose() => _key.Dispose();

    private async Task<string> ExportAsync(AuditExportFormat format, List<AuditRecord> records, bool filtered = false, int checkpointEvery = 4)
    {
        var checkpoints = records.Where(r => r.Chain!.Sequence % checkpointEvery == 0)
            .Select(r => _key.Sign(r.Chain!.Sequence, Convert.FromHexString(r.Chain.Hash), T0.AddDays(1)));
        using var writer = new StringWriter();
        var header = new AuditExportHeader { ExportedAt = T0.AddDays(1), Filtered = filtered, ToSequence = records.Count, KeyId = _key.KeyId };
        var count = await AuditExport.WriteAsync(writer, format, header, Async(records), Async(checkpoints));
        Assert.Equal(records.Count, count);
        return writer.ToString();
    }

    private Task<AuditVerification> VerifyAsync(string text) => AuditExport.VerifyAsync(new StringReader(text), _key.PublicKey);

    [Theory]
    [InlineData(AuditExportFormat.Jsonl)]
    [InlineData(AuditExportFormat.Csv)]
    public async Task An_export_verifies_with_every_checkpoint(AuditExportFormat format)
    {
        var text = await ExportAsync(format, Chain(12));

        var result = await VerifyAsync(text);

        Assert.True(result.Intact, result.Fault?.ToString());
        Assert.Equal(12, result.Records);
        Assert.Equal(3, result.Checkpoints);
    }

    [Fact]
    public async Task Jsonl_export_carries_every_field_back()
    {
        var records = Chain(6);
        var text = await ExportAsync(AuditExportFormat.Jsonl, records);

        var read = new List<AuditRecord>();
        await foreach (var r in AuditExport.ReadRecordsAsync(new StringReader(text)))
        {
            read.Add(r);
        }

        Assert.Equal(records.Count, read.Count);
        foreach (var (expected, actual) in records.Zip(read))
        {
            Assert.Equal(expected.Findings, actual.Findings);
            Assert.Equal(expected.Tool?.FilePaths ?? [], actual.Tool?.FilePaths ?? []);
            Assert.Equal(expected with { Findings = actual.Findings, Tool = actual.Tool is null ? null : expected.Tool! with { FilePaths = actual.Tool.FilePaths } }, actual);
        }
        Assert.Contains("\"kind\":\"tool_event\"", text, StringComparison.Ordinal);
        Assert.Contains("\"decision\":\"deny\"", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(AuditExportFormat.Jsonl, "\"user\":\"bob\"", "\"user\":\"eve\"")]
    [InlineData(AuditExportFormat.Csv, ",bob,", ",eve,")]
    public async Task An_edited_line_is_named(AuditExportFormat format, string from, string to)
    {
        var lines = (await ExportAsync(format, Chain(9))).Split('\n').ToList();
        var index = lines.FindIndex(l => l.Contains(from, StringComparison.Ordinal));
        lines[index] = lines[index].Replace(from, to, StringComparison.Ordinal);

        var fault = (await VerifyAsync(string.Join('\n', lines))).Fault;

        Assert.Equal(2, fault!.Sequence);
        Assert.Contains("edited", fault.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(AuditExportFormat.Jsonl)]
    [InlineData(AuditExportFormat.Csv)]
    public async Task A_deleted_line_is_named(AuditExportFormat format)
    {
        var lines = (await ExportAsync(format, Chain(9), checkpointEvery: 100)).Split('\n').ToList();
        lines.RemoveAt(lines.FindIndex(l => l.Contains("\"r6\"", StringComparison.Ordinal) || l.Contains(",r6,", StringComparison.Ordinal)));

        var fault = (await VerifyAsync(string.Join('\n', lines))).Fault;

        Assert.NotNull(fault);
        Assert.Equal(8, fault.Sequence);
        Assert.Contains("7..7 are missing", fault.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(AuditExportFormat.Jsonl)]
    [InlineData(AuditExportFormat.Csv)]
    public async Task Lines_cut_from_the_end_of_a_complete_export_are_detected(AuditExportFormat format)
    {
        var lines = (await ExportAsync(format, Chain(9), checkpointEvery: 100)).TrimEnd('\n').Split('\n').ToList();
        lines.RemoveRange(lines.Count - 2, 2);

        var fault = (await VerifyAsync(string.Join('\n', lines))).Fault;

        Assert.NotNull(fault);
        Assert.Contains("removed from its end", fault.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_filtered_export_verifies_as_partial()
    {
        var records = Chain(12);
        var text = await ExportAsync(AuditExportFormat.Jsonl, [.. records.Where(r => r.User == "ada")], filtered: true);

        var result = await VerifyAsync(text);

        Assert.True(result.Intact, result.Fault?.ToString());
        Assert.True(result.Gaps > 0);
    }

    [Theory]
    [InlineData("", "line 1: the file is empty")]
    [InlineData("hello\n", "line 1: not an Airlock audit export")]
    [InlineData("{\"header\":{\"format\":\"other\"}}\n", "line 1: not an Airlock audit export")]
    [InlineData("{\"header\":{\"format\":\"airlock-audit-export\",\"version\":9}}\n", "line 1: export version 9")]
    [InlineData("{\"header\":{\"format\":\"airlock-audit-export\",\"version\":1}}\n{\"record\":{\"request_id\":\"x\"}}\n", "line 2: not a valid export line")]
    [InlineData("{\"header\":{\"format\":\"airlock-audit-export\",\"version\":1}}\n{not json\n", "line 2: not a valid export line")]
    [InlineData("{\"header\":{\"format\":\"airlock-audit-export\",\"version\":1}}\n{}\n", "line 2: neither a record nor a checkpoint")]
    public async Task A_malformed_export_is_refused_naming_the_line(string text, string message)
    {
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => VerifyAsync(text));

        Assert.StartsWith(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_csv_row_is_refused_naming_the_line()
    {
        var lines = (await ExportAsync(AuditExportFormat.Csv, Chain(3))).Split('\n').ToList();
        lines[2] = "record,1,2";
        var badTime = (await ExportAsync(AuditExportFormat.Csv, Chain(3))).Replace("2026-03-01T09:00:01.123Z", "yesterday", StringComparison.Ordinal);

        var columns = await Assert.ThrowsAsync<InvalidDataException>(() => VerifyAsync(string.Join('\n', lines)));
        var time = await Assert.ThrowsAsync<InvalidDataException>(() => VerifyAsync(badTime));

        Assert.StartsWith("line 3: 3 columns", columns.Message, StringComparison.Ordinal);
        Assert.StartsWith("line ", time.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(AuditExportFormat.Jsonl)]
    [InlineData(AuditExportFormat.Csv)]
    public async Task An_admin_detail_travels_in_both_formats_and_an_edited_detail_is_named(AuditExportFormat format)
    {
        var head = AuditChainHead.Genesis;
        var records = new List<AuditRecord>();
        foreach (var record in Chain(2).Select(r => r with { Chain = null }).Append(new AuditRecord
        {
            Kind = AuditKind.Admin, RequestId = "adm-1", Time = T0.AddSeconds(5), Door = "admin", Operation = "audit.export",
            Outcome = AuditOutcome.Ok, Detail = "GET /admin/v1/audit/export?format=csv, \"quoted\"\nline",
        }))
        {
            (var chained, head) = head.Append(record);
            records.Add(chained);
        }
        var text = await ExportAsync(format, records);

        var intact = await VerifyAsync(text);
        var edited = await VerifyAsync(text.Replace("format=csv", "format=tsv", StringComparison.Ordinal));

        Assert.True(intact.Intact, intact.Fault?.ToString());
        Assert.Equal(3, edited.Fault!.Sequence);
    }

    [Fact]
    public async Task A_csv_export_written_before_the_detail_column_still_verifies()
    {
        var text = await ExportAsync(AuditExportFormat.Csv, Chain(6));
        // Version 2 exports had 38 columns: the header without "detail" and no last cell on any row.
        var lines = text.TrimEnd('\n').Split('\n').Select(line => line[..line.LastIndexOf(',')]);

        var result = await VerifyAsync(string.Join('\n', lines) + "\n");

        Assert.True(result.Intact, result.Fault?.ToString());
        Assert.Equal(6, result.Records);
    }
}
