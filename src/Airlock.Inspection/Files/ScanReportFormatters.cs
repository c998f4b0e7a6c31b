using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Airlock.Inspection.Files;

/// <summary>Human-readable report: one line per finding, <c>path:line:column</c> first so editors can jump to it.</summary>
public static class TextReport
{
    /// <summary>Writes <paramref name="report"/> to <paramref name="writer"/>.</summary>
    public static void Write(FileScanReport report, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(writer);
        foreach (var f in report.Findings)
        {
            writer.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{f.Path}:{f.Line}:{f.Column}: {f.RuleId} [{ScanReportNames.Category(f.Category)}, {ScanReportNames.Confidence(f.Confidence)}] {ScanReportNames.Action(f.Action)} hash={f.ValueHash[..16]}"));
        }

        foreach (var s in report.Skipped)
        {
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{s.Path}: skipped ({ScanReportNames.Skip(s.Reason)}{(s.Size > 0 ? $", {s.Size} bytes" : "")})"));
        }

        writer.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{report.Findings.Count} finding(s) in {report.FilesScanned} file(s) scanned ({report.BytesScanned} bytes), {report.Skipped.Count} skipped"));
    }
}

/// <summary>Machine-readable report in Airlock's own JSON shape (version 1).</summary>
public static class JsonReport
{
    /// <summary>Writes <paramref name="report"/> as UTF-8 JSON to <paramref name="stream"/>.</summary>
    public static void Write(FileScanReport report, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(stream);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteNumber("version", 1);
        w.WriteNumber("filesScanned", report.FilesScanned);
        w.WriteNumber("bytesScanned", report.BytesScanned);
        w.WriteStartArray("findings");
        foreach (var f in report.Findings)
        {
            w.WriteStartObject();
            w.WriteString("path", f.Path);
            w.WriteNumber("line", f.Line);
            w.WriteNumber("column", f.Column);
            w.WriteNumber("endLine", f.EndLine);
            w.WriteNumber("endColumn", f.EndColumn);
            w.WriteString("ruleId", f.RuleId);
            w.WriteString("category", ScanReportNames.Category(f.Category));
            w.WriteString("confidence", ScanReportNames.Confidence(f.Confidence));
            w.WriteString("action", ScanReportNames.Action(f.Action));
            w.WriteString("valueHash", f.ValueHash);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("skipped");
        foreach (var s in report.Skipped)
        {
            w.WriteStartObject();
            w.WriteString("path", s.Path);
            w.WriteString("reason", ScanReportNames.Skip(s.Reason));
            w.WriteNumber("size", s.Size);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}

/// <summary>Stable lowercase names used by every report format and by the gateway's audit findings.</summary>
public static class ScanReportNames
{
    public static string Category(FindingCategory category) => category switch
    {
        FindingCategory.Secret => "secret",
        FindingCategory.PersonalData => "personal-data",
        FindingCategory.OrganizationTerm => "organization-term",
        _ => "unknown",
    };

    public static string Confidence(Confidence confidence) => confidence switch
    {
        Inspection.Confidence.High => "high",
        Inspection.Confidence.Medium => "medium",
        _ => "low",
    };

    public static string Action(InspectionAction action) => action switch
    {
        InspectionAction.Block => "block",
        InspectionAction.Redact => "redact",
        _ => "alert",
    };

    public static string Skip(SkipReason reason) => reason switch
    {
        SkipReason.Binary => "binary",
        SkipReason.TooLarge => "too-large",
        SkipReason.Unreadable => "unreadable",
        SkipReason.SymbolicLink => "symbolic-link",
        _ => "not-found",
    };
}
