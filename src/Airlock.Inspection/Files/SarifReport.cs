using System.Text.Encodings.Web;
using System.Text.Json;

namespace Airlock.Inspection.Files;

/// <summary>
/// SARIF 2.1.0 report (OASIS Static Analysis Results Interchange Format Version 2.1.0, OASIS
/// Standard incorporating Errata 01, https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html):
/// a <c>sarifLog</c> with one <c>run</c>; <c>tool.driver.rules</c> lists each rule that fired
/// (reportingDescriptor); each <c>result</c> has <c>ruleId</c>/<c>ruleIndex</c>, <c>level</c>,
/// <c>message.text</c> and a <c>physicalLocation</c> with <c>artifactLocation.uri</c> and a
/// <c>region</c> (1-based <c>startLine</c>/<c>startColumn</c>, <c>endColumn</c> one past the last
/// character, UTF-16 columns as the spec's default <c>columnKind</c>). The keyed value hash goes
/// in <c>partialFingerprints</c> so code-scanning UIs can de-duplicate across runs. Skipped files
/// are <c>toolExecutionNotifications</c> of the run's invocation.
/// </summary>
public static class SarifReport
{
    /// <summary>JSON schema of SARIF 2.1.0 as published by OASIS.</summary>
    public const string SchemaUri = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

    /// <summary>Writes <paramref name="report"/> as SARIF to <paramref name="stream"/>.</summary>
    public static void Write(FileScanReport report, Stream stream, string toolVersion = "0.1.0")
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(stream);
        var rules = report.Findings
            .GroupBy(f => f.RuleId, StringComparer.Ordinal)
            .Select(g => g.First())
            .OrderBy(f => f.RuleId, StringComparer.Ordinal)
            .ToList();
        var ruleIndex = rules.Select((f, i) => (f.RuleId, i)).ToDictionary(x => x.RuleId, x => x.i, StringComparer.Ordinal);

        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteString("$schema", SchemaUri);
        w.WriteString("version", "2.1.0");
        w.WriteStartArray("runs");
        w.WriteStartObject();

        w.WriteStartObject("tool");
        w.WriteStartObject("driver");
        w.WriteString("name", "airlock");
        w.WriteString("version", toolVersion);
        w.WriteStartArray("rules");
        foreach (var rule in rules)
        {
            w.WriteStartObject();
            w.WriteString("id", rule.RuleId);
            w.WriteStartObject("shortDescription");
            w.WriteString("text", $"{ScanReportNames.Category(rule.Category)} detected by rule {rule.RuleId}");
            w.WriteEndObject();
            w.WriteStartObject("properties");
            w.WriteString("category", ScanReportNames.Category(rule.Category));
            w.WriteStartArray("tags");
            w.WriteStringValue("security");
            w.WriteStringValue(ScanReportNames.Category(rule.Category));
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();

        // Columns count UTF-16 code units; stated explicitly although it is the spec's default.
        w.WriteString("columnKind", "utf16CodeUnits");
        w.WriteStartArray("invocations");
        w.WriteStartObject();
        w.WriteBoolean("executionSuccessful", true);
        w.WriteStartArray("toolExecutionNotifications");
        foreach (var skipped in report.Skipped)
        {
            w.WriteStartObject();
            w.WriteString("level", "note");
            w.WriteStartObject("message");
            w.WriteString("text", $"skipped: {ScanReportNames.Skip(skipped.Reason)}");
            w.WriteEndObject();
            w.WriteStartArray("locations");
            WriteLocation(w, skipped.Path, null);
            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();

        w.WriteStartArray("results");
        foreach (var f in report.Findings)
        {
            w.WriteStartObject();
            w.WriteString("ruleId", f.RuleId);
            w.WriteNumber("ruleIndex", ruleIndex[f.RuleId]);
            w.WriteString("level", f.Category == FindingCategory.Secret ? "error" : "warning");
            w.WriteStartObject("message");
            w.WriteString("text", $"{ScanReportNames.Category(f.Category)} ({f.RuleId}), action {ScanReportNames.Action(f.Action)}; value hash {f.ValueHash[..16]}");
            w.WriteEndObject();
            w.WriteStartArray("locations");
            WriteLocation(w, f.Path, f);
            w.WriteEndArray();
            w.WriteStartObject("partialFingerprints");
            w.WriteString("airlockValueHash/v1", f.ValueHash);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteLocation(Utf8JsonWriter w, string path, FileFinding? region)
    {
        w.WriteStartObject();
        w.WriteStartObject("physicalLocation");
        w.WriteStartObject("artifactLocation");
        w.WriteString("uri", ToUri(path));
        w.WriteEndObject();
        if (region is not null)
        {
            w.WriteStartObject("region");
            w.WriteNumber("startLine", region.Line);
            w.WriteNumber("startColumn", region.Column);
            w.WriteNumber("endLine", region.EndLine);
            w.WriteNumber("endColumn", region.EndColumn);
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    // artifactLocation.uri is a URI reference (SARIF §3.4.3, RFC 3986): relative paths stay
    // relative with each segment percent-encoded; absolute paths become file:// URIs.
    private static string ToUri(string path)
    {
        if (Path.IsPathFullyQualified(path))
        {
            return new Uri(path).AbsoluteUri;
        }

        return string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
    }
}
