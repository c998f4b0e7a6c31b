using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Airlock.Core.Configuration;

namespace Airlock.Core.Posture;

/// <summary>The output formats of <c>airlock posture</c>.</summary>
public enum PostureFormat
{
    /// <summary>Markdown with a Mermaid data-flow diagram.</summary>
    Markdown,

    /// <summary>One self-contained HTML page (inline CSS and SVG; no script, no external resource).</summary>
    Html,

    /// <summary>JSON for pipelines.</summary>
    Json,
}

/// <summary>Renders a <see cref="PostureReport"/>.</summary>
public static class PostureRenderer
{
    /// <summary>The report in <paramref name="format"/>.</summary>
    public static string Render(PostureReport report, PostureFormat format) => format switch
    {
        PostureFormat.Html => Html(report),
        PostureFormat.Json => Json(report),
        _ => Markdown(report),
    };

    private static string StatusText(PostureStatus status) => status switch
    {
        PostureStatus.Pass => "pass",
        PostureStatus.Fail => "fail",
        _ => "unknown",
    };

    private static string Summary(PostureReport report)
    {
        var (pass, fail, unknown) = report.Totals;
        return $"{(report.Passed ? "PASSED" : "FAILED")}: {pass} pass, {fail} fail, {unknown} unknown";
    }

    private static string Declared(PostureReport report) => report.Level is >= 1 and <= 3
        ? $"level {report.Level}"
        : report.ConfigSource == ConfigLoader.QuickstartSource ? "no level declared (quickstart trial: not a deployment)" : "no level declared";

    /// <summary>Markdown: summary, level checks, decision matrix (declared column marked), Mermaid diagram, routes, checklist.</summary>
    public static string Markdown(PostureReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# Airlock posture: {Cell(report.ConfigSource)}\n\n");
        md.Append(CultureInfo.InvariantCulture, $"- Generated: {report.GeneratedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC{(report.Offline ? " (offline: no name resolution, no live probes)" : "")}\n");
        md.Append(CultureInfo.InvariantCulture, $"- Declared data-egress level: **{Declared(report)}**\n");
        md.Append(CultureInfo.InvariantCulture, $"- Result: **{Summary(report)}**\n\n");

        md.Append("## Checks\n\n| status | check | upstream | evidence | fix |\n|---|---|---|---|---|\n");
        foreach (var check in report.Checks)
        {
            md.Append(CultureInfo.InvariantCulture, $"| {Mark(check.Status)} | {Cell(check.Title)} (`{check.Id}`) | {Cell(check.Upstream ?? "")} | {Cell(check.Evidence)} | {Cell(check.Fix ?? "")} |\n");
        }

        md.Append("\n## Decision matrix\n\n");
        md.Append("|  |");
        for (var level = 1; level <= 3; level++)
        {
            md.Append(level == report.Level ? $" **Level {level} ◀ this deployment** |" : $" Level {level} |");
        }
        md.Append(" This deployment |\n|---|---|---|---|---|\n");
        foreach (var row in report.Matrix)
        {
            string Column(int level, string text) => level == report.Level ? $"**{Cell(text)}**" : Cell(text);
            md.Append(CultureInfo.InvariantCulture, $"| {Cell(row.Question)} | {Column(1, row.Level1)} | {Column(2, row.Level2)} | {Column(3, row.Level3)} | {Cell(row.ThisDeployment)} |\n");
        }

        md.Append("\n## Data flow\n\n```mermaid\n");
        md.Append(PostureDiagram.Mermaid(report));
        md.Append("```\n");

        md.Append("\n## Routes\n\n| models | upstreams (in order) |\n|---|---|\n");
        foreach (var route in report.Routes)
        {
            md.Append(CultureInfo.InvariantCulture, $"| {Cell(string.Join(", ", route.Models))} | {Cell(string.Join(" → ", route.Upstreams))} |\n");
        }
        md.Append("\n## Where data is processed\n\n| upstream | kind | endpoint | processed in | vendor retention | training | gateway credential |\n|---|---|---|---|---|---|---|\n");
        foreach (var u in report.Upstreams)
        {
            md.Append(CultureInfo.InvariantCulture, $"| {Cell(u.Upstream)} | {u.Kind} | {Cell(u.Endpoint)} | {Cell(u.ProcessedIn)} | {Cell(u.Retention)} | {Cell(u.Training)} | {Cell(u.Credential)} |\n");
        }

        md.Append("\n## Pre-adoption checklist\n\n| status | item | evidence | fix |\n|---|---|---|---|\n");
        foreach (var item in report.Checklist)
        {
            md.Append(CultureInfo.InvariantCulture, $"| {Mark(item.Status)} | {Cell(item.Title)} | {Cell(item.Evidence)} | {Cell(item.Fix ?? "")} |\n");
        }
        return md.ToString();

        static string Mark(PostureStatus status) => status switch
        {
            PostureStatus.Pass => "PASS",
            PostureStatus.Fail => "**FAIL**",
            _ => "UNKNOWN",
        };

        // A table cell: pipes escaped, line breaks flattened, so configuration text cannot break the table.
        static string Cell(string value) => value.Replace("|", "\\|", StringComparison.Ordinal).Replace('\n', ' ').Replace('\r', ' ');
    }

    /// <summary>A self-contained HTML page: inline CSS, inline SVG, no script; its Content-Security-Policy forbids every fetch. It is also
    /// well-formed XML (void elements closed), so tools can read it without an HTML parser.</summary>
    public static string Html(PostureReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
        html.Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"/>\n");
        html.Append(CultureInfo.InvariantCulture, $"<title>Airlock posture: {E(report.ConfigSource)}</title>\n");
        html.Append("""
            <style>
            body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}
            table{border-collapse:collapse;margin:8px 0 24px;width:100%}
            th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;font-size:14px}
            th{background:#f0f0f0}
            .pass{color:#1d6b1d;font-weight:bold}.fail{color:#b00020;font-weight:bold}.unknown{color:#8a6d00;font-weight:bold}
            .declared{background:#e6efff;border:2px solid #1f4e8c}
            #result.failed{color:#b00020}#result.passed{color:#1d6b1d}
            </style>

            """);
        html.Append("</head>\n<body>\n");
        html.Append(CultureInfo.InvariantCulture, $"<h1>Airlock posture: {E(report.ConfigSource)}</h1>\n");
        html.Append(CultureInfo.InvariantCulture, $"<p>Generated {report.GeneratedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC{(report.Offline ? " (offline: no name resolution, no live probes)" : "")}. ");
        html.Append(CultureInfo.InvariantCulture, $"Declared data-egress level: <strong id=\"level\">{E(Declared(report))}</strong>.</p>\n");
        html.Append(CultureInfo.InvariantCulture, $"<p id=\"result\" class=\"{(report.Passed ? "passed" : "failed")}\"><strong>{E(Summary(report))}</strong></p>\n");

        html.Append("<h2>Checks</h2>\n<table id=\"checks\"><thead><tr><th>status</th><th>check</th><th>upstream</th><th>evidence</th><th>fix</th></tr></thead><tbody>\n");
        foreach (var check in report.Checks)
        {
            html.Append(CultureInfo.InvariantCulture,
                $"<tr data-id=\"{E(check.Id)}\"><td class=\"{StatusText(check.Status)}\">{StatusText(check.Status)}</td><td>{E(check.Title)}</td><td>{E(check.Upstream ?? "")}</td><td>{E(check.Evidence)}</td><td>{E(check.Fix ?? "")}</td></tr>\n");
        }
        html.Append("</tbody></table>\n");

        html.Append("<h2>Decision matrix</h2>\n<table id=\"matrix\"><thead><tr><th></th>");
        for (var level = 1; level <= 3; level++)
        {
            html.Append(level == report.Level
                ? $"<th class=\"declared\" data-level=\"{level}\">Level {level} (this deployment)</th>"
                : $"<th data-level=\"{level}\">Level {level}</th>");
        }
        html.Append("<th>This deployment</th></tr></thead><tbody>\n");
        foreach (var row in report.Matrix)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><th>{E(row.Question)}</th>");
            foreach (var (level, text) in new[] { (1, row.Level1), (2, row.Level2), (3, row.Level3) })
            {
                html.Append(level == report.Level ? $"<td class=\"declared\">{E(text)}</td>" : $"<td>{E(text)}</td>");
            }
            html.Append(CultureInfo.InvariantCulture, $"<td>{E(row.ThisDeployment)}</td></tr>\n");
        }
        html.Append("</tbody></table>\n");

        html.Append("<h2>Data flow</h2>\n");
        html.Append(PostureDiagram.Svg(report));

        html.Append("<h2>Routes</h2>\n<table id=\"routes\"><thead><tr><th>models</th><th>upstreams (in order)</th></tr></thead><tbody>\n");
        foreach (var route in report.Routes)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(string.Join(", ", route.Models))}</td><td>{E(string.Join(" → ", route.Upstreams))}</td></tr>\n");
        }
        html.Append("</tbody></table>\n");
        html.Append("<h2>Where data is processed</h2>\n<table id=\"upstreams\"><thead><tr><th>upstream</th><th>kind</th><th>endpoint</th><th>processed in</th><th>vendor retention</th><th>training</th><th>gateway credential</th></tr></thead><tbody>\n");
        foreach (var u in report.Upstreams)
        {
            html.Append(CultureInfo.InvariantCulture,
                $"<tr><td>{E(u.Upstream)}</td><td>{E(u.Kind)}</td><td>{E(u.Endpoint)}</td><td>{E(u.ProcessedIn)}</td><td>{E(u.Retention)}</td><td>{E(u.Training)}</td><td>{E(u.Credential)}</td></tr>\n");
        }
        html.Append("</tbody></table>\n");

        html.Append("<h2>Pre-adoption checklist</h2>\n<table id=\"checklist\"><thead><tr><th>status</th><th>item</th><th>evidence</th><th>fix</th></tr></thead><tbody>\n");
        foreach (var item in report.Checklist)
        {
            html.Append(CultureInfo.InvariantCulture,
                $"<tr data-id=\"{E(item.Id)}\"><td class=\"{StatusText(item.Status)}\">{StatusText(item.Status)}</td><td>{E(item.Title)}</td><td>{E(item.Evidence)}</td><td>{E(item.Fix ?? "")}</td></tr>\n");
        }
        html.Append("</tbody></table>\n</body>\n</html>\n");
        return html.ToString();

        static string E(string value) => WebUtility.HtmlEncode(value);
    }

    /// <summary>JSON (snake_case): result, totals, checks, checklist, matrix, upstreams, routes and the Mermaid diagram.</summary>
    public static string Json(PostureReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            var (pass, fail, unknown) = report.Totals;
            json.WriteStartObject();
            json.WriteString("generated_at", report.GeneratedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
            json.WriteString("config", report.ConfigSource);
            json.WriteNumber("level", report.Level);
            // The quickstart defaults: a trial whose failures are what a deployment's airlock.yaml adds.
            json.WriteBoolean("trial", report.ConfigSource == ConfigLoader.QuickstartSource);
            json.WriteBoolean("offline", report.Offline);
            json.WriteBoolean("passed", report.Passed);
            json.WriteStartObject("totals");
            json.WriteNumber("pass", pass);
            json.WriteNumber("fail", fail);
            json.WriteNumber("unknown", unknown);
            json.WriteEndObject();
            WriteChecks(json, "checks", report.Checks);
            WriteChecks(json, "checklist", report.Checklist);
            json.WriteStartObject("matrix");
            json.WriteNumber("declared_level", report.Level);
            json.WriteStartArray("rows");
            foreach (var row in report.Matrix)
            {
                json.WriteStartObject();
                json.WriteString("question", row.Question);
                json.WriteString("level_1", row.Level1);
                json.WriteString("level_2", row.Level2);
                json.WriteString("level_3", row.Level3);
                json.WriteString("this_deployment", row.ThisDeployment);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteStartArray("upstreams");
            foreach (var u in report.Upstreams)
            {
                json.WriteStartObject();
                json.WriteString("name", u.Upstream);
                json.WriteString("kind", u.Kind);
                json.WriteString("endpoint", u.Endpoint);
                json.WriteString("processed_in", u.ProcessedIn);
                json.WriteString("retention", u.Retention);
                json.WriteString("training", u.Training);
                json.WriteString("credential_source", u.Credential);
                json.WriteBoolean("on_premises", u.OnPremises);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("routes");
            foreach (var route in report.Routes)
            {
                json.WriteStartObject();
                json.WriteStartArray("models");
                route.Models.ToList().ForEach(json.WriteStringValue);
                json.WriteEndArray();
                json.WriteStartArray("upstreams");
                route.Upstreams.ToList().ForEach(json.WriteStringValue);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteString("mermaid", PostureDiagram.Mermaid(report));
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void WriteChecks(Utf8JsonWriter json, string name, IReadOnlyList<PostureCheck> checks)
    {
        json.WriteStartArray(name);
        foreach (var check in checks)
        {
            json.WriteStartObject();
            json.WriteString("id", check.Id);
            json.WriteString("title", check.Title);
            json.WriteString("status", StatusText(check.Status));
            json.WriteString("evidence", check.Evidence);
            if (check.Fix is null)
            {
                json.WriteNull("fix");
            }
            else
            {
                json.WriteString("fix", check.Fix);
            }
            if (check.Upstream is null)
            {
                json.WriteNull("upstream");
            }
            else
            {
                json.WriteString("upstream", check.Upstream);
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }
}
