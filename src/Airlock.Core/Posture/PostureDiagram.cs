using System.Globalization;
using System.Net;
using System.Text;

namespace Airlock.Core.Posture;

/// <summary>
/// The data-flow diagram of one deployment: developers → gateway (→ audit store) → each upstream, with where each upstream
/// processes prompts. Written twice from the same facts: Mermaid for Markdown, and an SVG laid out by hand for HTML, so the
/// HTML report needs no script, no font and no network to show it.
/// </summary>
public static class PostureDiagram
{
    private const int UpstreamX = 640, UpstreamWidth = 300, RowHeight = 92, BoxHeight = 68, Top = 56;

    /// <summary>The Mermaid <c>flowchart</c> (without the code fence).</summary>
    public static string Mermaid(PostureReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var text = new StringBuilder();
        text.Append("flowchart LR\n");
        text.Append("  subgraph org[\"Organization network\"]\n");
        text.Append("    dev[\"Developers: Claude Code with managed settings and hook\"]\n");
        text.Append(CultureInfo.InvariantCulture, $"    gw[\"Airlock gateway: level {report.Level}, inspection, routing\"]\n");
        text.Append("    audit[(\"Audit store: hash chain, signed checkpoints\")]\n");
        for (var i = 0; i < report.Upstreams.Count; i++)
        {
            if (report.Upstreams[i].OnPremises)
            {
                text.Append(CultureInfo.InvariantCulture, $"    u{i}[\"{Label(report.Upstreams[i])}\"]\n");
            }
        }
        text.Append("  end\n");
        for (var i = 0; i < report.Upstreams.Count; i++)
        {
            if (!report.Upstreams[i].OnPremises)
            {
                text.Append(CultureInfo.InvariantCulture, $"  u{i}[\"{Label(report.Upstreams[i])}\"]\n");
            }
        }
        text.Append("  dev -->|\"HTTPS, per-user Airlock key\"| gw\n");
        text.Append("  gw -->|\"metadata only\"| audit\n");
        for (var i = 0; i < report.Upstreams.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"  gw -->|\"{Escape(EdgeLabel(report.Upstreams[i]))}\"| u{i}\n");
        }
        return text.ToString();

        static string Label(UpstreamFacts u) => Escape($"{u.Upstream} ({u.Kind}): {u.ProcessedIn}");

        // Mermaid labels in quotes: a quote is written as the #quot; entity; line breaks would end the statement.
        static string Escape(string value) => value.Replace("\"", "#quot;", StringComparison.Ordinal).Replace('\n', ' ').Replace('\r', ' ');
    }

    /// <summary>The SVG element (inline in HTML). Upstream nodes carry <c>data-upstream="NAME"</c>.</summary>
    public static string Svg(PostureReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var rows = Math.Max(report.Upstreams.Count, 3);
        var height = Top + (rows * RowHeight) + 24;
        var middle = Top + ((rows * RowHeight) / 2) - BoxHeight;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"data-flow\" role=\"img\" aria-labelledby=\"data-flow-title\" viewBox=\"0 0 960 {height}\" width=\"960\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"13\">\n");
        svg.Append("<title id=\"data-flow-title\">Data flow of this deployment</title>\n");
        svg.Append("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#444\"/></marker></defs>\n");
        svg.Append(CultureInfo.InvariantCulture,
            $"<rect x=\"8\" y=\"30\" width=\"566\" height=\"{height - 40}\" rx=\"10\" fill=\"#f4f8f4\" stroke=\"#5a8a5a\" stroke-dasharray=\"6 4\"/>\n");
        svg.Append("<text x=\"20\" y=\"22\" font-weight=\"bold\" fill=\"#2f5f2f\">Organization network</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{UpstreamX}\" y=\"22\" font-weight=\"bold\" fill=\"#333\">Where prompts are processed</text>\n");

        Box(svg, "node-developers", null, 24, middle, 220, "#ffffff", "#555", "Developers", "Claude Code, managed settings", "hook: deny secret files");
        Box(svg, "node-gateway", null, 330, middle, 220, "#ffffff", "#1f4e8c", "Airlock gateway", $"level {report.Level} · inspection", "routing · failover");
        Box(svg, "node-audit", null, 330, middle + BoxHeight + 48, 220, "#ffffff", "#555", "Audit store", "hash chain, signed checkpoints", "metadata only");
        Edge(svg, 244, middle + (BoxHeight / 2), 330, middle + (BoxHeight / 2), "per-user key", 287, middle + (BoxHeight / 2) - 6);
        Edge(svg, 440, middle + BoxHeight, 440, middle + BoxHeight + 48, null, 0, 0);

        for (var i = 0; i < report.Upstreams.Count; i++)
        {
            var upstream = report.Upstreams[i];
            var y = Top + (i * RowHeight);
            var (fill, stroke, where) = upstream.OnPremises
                ? ("#eef7ee", "#3d7a3d", "on-premises")
                : upstream.Kind == "anthropic" ? ("#fff1e6", "#c0641a", "model vendor") : ("#eaf1fb", "#1f4e8c", "cloud provider");
            Box(svg, $"node-upstream-{i}", upstream.Upstream, UpstreamX, y, UpstreamWidth, fill, stroke,
                $"{upstream.Upstream} ({upstream.Kind}, {where})", Shorten(upstream.Endpoint, 44), Shorten(upstream.ProcessedIn, 44));
            // The label sits on the line, a third of the way from the gateway.
            var (fromY, toY) = (middle + (BoxHeight / 2), y + (BoxHeight / 2));
            Edge(svg, 550, fromY, UpstreamX, toY, Shorten(EdgeLabel(upstream), 22), 566, fromY + ((toY - fromY) / 3) - 4);
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static string EdgeLabel(UpstreamFacts upstream) => upstream.Kind switch
    {
        "simulated" => "in process",
        "bedrock" => "TLS, SigV4",
        "vertex" => "TLS, OAuth",
        _ => upstream.Endpoint.StartsWith("https:", StringComparison.Ordinal) ? "TLS" : "plain HTTP",
    };

    private static void Box(StringBuilder svg, string id, string? upstream, int x, int y, int width, string fill, string stroke, string title, string line1, string line2)
    {
        svg.Append(CultureInfo.InvariantCulture, $"<g id=\"{id}\" class=\"node\"{(upstream is null ? "" : $" data-upstream=\"{Xml(upstream)}\"")}>");
        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x}\" y=\"{y}\" width=\"{width}\" height=\"{BoxHeight}\" rx=\"6\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"2\"/>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + 10}\" y=\"{y + 20}\" font-weight=\"bold\">{Xml(Shorten(title, width / 7))}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + 10}\" y=\"{y + 39}\">{Xml(line1)}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + 10}\" y=\"{y + 57}\" fill=\"#444\">{Xml(line2)}</text>");
        svg.Append("</g>\n");
    }

    private static void Edge(StringBuilder svg, int x1, int y1, int x2, int y2, string? label, int lx, int ly)
    {
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"#444\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>");
        if (label is not null)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{lx}\" y=\"{ly}\" font-size=\"11\" fill=\"#333\">{Xml(label)}</text>");
        }
        svg.Append('\n');
    }

    private static string Shorten(string value, int max) => value.Length <= max ? value : value[..(max - 1)] + "…";

    private static string Xml(string value) => WebUtility.HtmlEncode(value);
}
