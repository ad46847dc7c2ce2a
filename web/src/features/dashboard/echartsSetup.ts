/** The ECharts parts the dashboard uses, imported by name so the rest is left out. */
import { init, use } from 'echarts/core'
import { BarChart, FunnelChart, PieChart } from 'echarts/charts'
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components'
import { CanvasRenderer } from 'echarts/renderers'

use([BarChart, PieChart, FunnelChart, GridComponent, TooltipComponent, LegendComponent, CanvasRenderer])

export { init }
